//! Files between the browser and the app: the text of a file chosen in a file input, and a
//! download fetched with the session's token and handed to the browser (bulletins' exports,
//! the audit log's CSV). Browser objects are called by name through `Reflect`, so the app
//! needs no extra web-sys features.

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestCache, RequestInit, Response};

use super::api::Session;

/// The bytes of the file chosen in a file input, as they are (an .xlsx workbook, a CSV file),
/// at most 5 MB. Full bundle only: written apart from [`read_chosen_file`] so the officer
/// bundle carries none of it.
#[cfg(feature = "leader")]
pub async fn read_chosen_bytes(input: JsValue) -> Result<Vec<u8>, String> {
    let files = Reflect::get(&input, &"files".into()).map_err(|_| "files")?;
    let file = Reflect::get(&files, &0.into()).map_err(|_| "file")?;
    if file.is_undefined() || file.is_null() {
        return Err(String::new());
    }
    let size = Reflect::get(&file, &"size".into())
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0);
    if size > 5_000_000.0 {
        return Err("> 5 MB".into());
    }
    let method: Function = Reflect::get(&file, &"arrayBuffer".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("arrayBuffer")?;
    let promise: Promise = method
        .call0(&file)
        .ok()
        .and_then(|p| p.dyn_into().ok())
        .ok_or("arrayBuffer")?;
    let buffer = JsFuture::from(promise).await.map_err(|_| "read")?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Reads the text of the file chosen in a file input (UTF-8, or GB18030 as Excel in Chinese
/// saves CSV), through the browser's `File` and `TextDecoder` called by name.
pub async fn read_chosen_file(input: JsValue) -> Result<String, String> {
    let files = Reflect::get(&input, &"files".into()).map_err(|_| "files")?;
    let file = Reflect::get(&files, &0.into()).map_err(|_| "file")?;
    if file.is_undefined() || file.is_null() {
        return Err(String::new());
    }
    let size = Reflect::get(&file, &"size".into())
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0);
    if size > 5_000_000.0 {
        return Err("> 5 MB".into());
    }
    let method: Function = Reflect::get(&file, &"arrayBuffer".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("arrayBuffer")?;
    let promise: Promise = method
        .call0(&file)
        .ok()
        .and_then(|p| p.dyn_into().ok())
        .ok_or("arrayBuffer")?;
    let buffer = JsFuture::from(promise).await.map_err(|_| "read")?;
    let window: JsValue = web_sys::window().ok_or("window")?.into();
    let decoder_ctor: Function = Reflect::get(&window, &"TextDecoder".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("TextDecoder")?;
    let decode = |label: &str, fatal: bool| -> Option<String> {
        let options = Object::new();
        let _ = Reflect::set(&options, &"fatal".into(), &fatal.into());
        let args = js_sys::Array::of2(&label.into(), &options);
        let decoder = Reflect::construct(&decoder_ctor, &args).ok()?;
        let method: Function = Reflect::get(&decoder, &"decode".into())
            .ok()?
            .dyn_into()
            .ok()?;
        method.call1(&decoder, &buffer).ok()?.as_string()
    };
    decode("utf-8", true)
        .or_else(|| decode("gb18030", false))
        .ok_or_else(|| "decode".into())
}

/// Fetches `path` with the session's token and hands the bytes to the browser as a download
/// named `filename` (through a Blob URL: a plain link cannot carry the bearer token).
// Used by the full bundle's screens only.
#[cfg_attr(not(feature = "leader"), allow(dead_code))]
pub async fn download(
    session: &Session,
    path: &str,
    filename: &str,
    mime: &str,
) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let headers = Headers::new().map_err(|_| "headers")?;
    let _ = headers.set("authorization", &format!("Bearer {}", session.token));
    let _ = headers.set("x-lianxin-device", &session.device.id.to_string());
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_cache(RequestCache::NoStore);
    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| "unreachable")?;
    let response: Response = response.dyn_into().map_err(|_| "response")?;
    if !response.ok() {
        return Err(format!("HTTP {}", response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|_| "body")?)
        .await
        .map_err(|_| "unreachable")?;
    crate::infra::platform::save_file(&Uint8Array::new(&buffer).to_vec(), filename, mime).await
}
