//! The app's screens and widgets, one file each.

pub mod app;
pub mod header;
pub mod landing;
pub mod server_status;
