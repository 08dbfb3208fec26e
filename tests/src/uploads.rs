//! Helpers of the blob and upload tests: photos as PNG bytes, visits that reference a photo by
//! hash, a tus 1.0 client by hand (reqwest) for the steps a test must control, and
//! `tus-js-client` from npm — a tus client nobody here wrote — installed once into the target
//! folder and run with Node.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context as _, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::Digest as _;
use shared::doc::{DocKind, NewVisit, VisitDoc};
use shared::model::{
    CheckIn, EnterpriseId, OperatingStatus, PositionFix, Timestamp, VisitId, VisitMethod,
};
use shared::sync::protocol::DocId;
use shared::sync::replica::LocalStore as _;

use crate::device::{NativeDevice, id_bytes, wall_clock};

/// The SHA-256 of `bytes`, 64 lower-case hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `width`×`height` PNG of seeded noise (so it does not compress: about 3 bytes a pixel).
pub fn noise_png(width: u32, height: u32, seed: u64) -> anyhow::Result<Vec<u8>> {
    use rand::{Rng as _, SeedableRng as _};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    rng.fill(&mut pixels[..]);
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

/// Records a visit offline on `dev` whose check-in photo is `photo_hash`; returns its id (the
/// `n`th such visit of the test: numbers are unique across devices). Sync to send it.
pub fn visit_with_photo(
    dev: &mut NativeDevice,
    n: u64,
    enterprise: EnterpriseId,
    photo_hash: &str,
) -> anyhow::Result<DocId> {
    let id = VisitId::from_random_bytes(id_bytes(90, n));
    let at = Timestamp(1_793_491_200_000);
    let visit = NewVisit {
        id,
        enterprise,
        method: VisitMethod::OnSite,
        check_in: Some(CheckIn {
            device_time: at,
            position: PositionFix::PermissionRefused,
            photo_hash: Some(photo_hash.to_string()),
        }),
        operating_status: OperatingStatus::Normal,
        notes: "现场照片".into(),
    };
    let doc = VisitDoc::create(&visit, &dev.actor, dev.actor_id.clone(), at)?;
    let doc_id = DocId::new(DocKind::Visit, &id.to_string());
    dev.client
        .replica_mut()
        .insert_new(doc_id.clone(), doc.into_record());
    Ok(doc_id)
}

/// Replaces the check-in photo of visit `id` on `dev` by `photo_hash` (the old photo is no
/// longer referenced by it), as a local change waiting to upload.
pub async fn replace_visit_photo(
    dev: &mut NativeDevice,
    id: &DocId,
    photo_hash: &str,
) -> anyhow::Result<()> {
    let doc = dev
        .client
        .replica()
        .read(id)
        .context("no such visit on the device")??
        .into_owned();
    let mut visit = VisitDoc::from_record(doc)?;
    let mut check_in = visit
        .read()?
        .check_in
        .context("the visit has no check-in")?;
    check_in.photo_hash = Some(photo_hash.to_string());
    let actor = dev.actor;
    visit.edit(&actor, wall_clock(), |e| e.set_check_in(&check_in))?;
    let batch = dev
        .client
        .save_local(vec![(id.clone(), visit.into_record())])?;
    dev.disk.persist(&batch).await?;
    Ok(())
}

/// A tus 1.0 client by hand, for tests that control each request.
pub struct Tus {
    /// The server's base URL (`http://host:port`).
    pub base: String,
    /// The bearer token.
    pub token: String,
    http: reqwest::Client,
}

/// A response's status, `Upload-Offset` and JSON error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TusAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Upload-Offset`, when given.
    pub offset: Option<u64>,
    /// `Location`, when given.
    pub location: Option<String>,
    /// The JSON body's `error`, when there is one.
    pub error: Option<String>,
}

async fn answer(response: reqwest::Response) -> anyhow::Result<TusAnswer> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let offset = header("upload-offset").and_then(|v| v.parse().ok());
    let location = header("location");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let error = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string));
    Ok(TusAnswer {
        status,
        offset,
        location,
        error,
    })
}

impl Tus {
    /// A client of the server at `base` with `token`.
    pub fn new(base: &str, token: &str) -> Tus {
        Tus {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// `POST /api/uploads` for `length` bytes declared as `sha256` of `filetype`.
    pub async fn create(
        &self,
        length: u64,
        sha256: &str,
        filetype: &str,
    ) -> anyhow::Result<TusAnswer> {
        let metadata = format!(
            "sha256 {},filetype {}",
            BASE64.encode(sha256),
            BASE64.encode(filetype)
        );
        let response = self
            .http
            .post(format!("{}/api/uploads", self.base))
            .bearer_auth(&self.token)
            .header("tus-resumable", "1.0.0")
            .header("upload-length", length.to_string())
            .header("upload-metadata", metadata)
            .send()
            .await?;
        answer(response).await
    }

    fn url(&self, location: &str) -> String {
        format!("{}{location}", self.base)
    }

    /// `HEAD` of the upload at `location`.
    pub async fn head(&self, location: &str) -> anyhow::Result<TusAnswer> {
        let response = self
            .http
            .head(self.url(location))
            .bearer_auth(&self.token)
            .header("tus-resumable", "1.0.0")
            .send()
            .await?;
        answer(response).await
    }

    /// `PATCH` of `bytes` at `offset` to the upload at `location`.
    pub async fn patch(
        &self,
        location: &str,
        offset: u64,
        bytes: &[u8],
    ) -> anyhow::Result<TusAnswer> {
        self.patch_checked(location, offset, bytes, None).await
    }

    /// [`Tus::patch`] with `Upload-Checksum: sha256 <base64 of checksum>` when given.
    pub async fn patch_checked(
        &self,
        location: &str,
        offset: u64,
        bytes: &[u8],
        checksum: Option<&[u8]>,
    ) -> anyhow::Result<TusAnswer> {
        let mut request = self
            .http
            .patch(self.url(location))
            .bearer_auth(&self.token)
            .header("tus-resumable", "1.0.0")
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string());
        if let Some(sum) = checksum {
            request = request.header("upload-checksum", format!("sha256 {}", BASE64.encode(sum)));
        }
        answer(request.body(bytes.to_vec()).send().await?).await
    }

    /// Uploads `bytes` whole in `chunk`-byte PATCHes, as a PNG; the final answer.
    pub async fn upload(&self, bytes: &[u8], chunk: usize) -> anyhow::Result<TusAnswer> {
        let created = self
            .create(bytes.len() as u64, &sha256_hex(bytes), "image/png")
            .await?;
        ensure!(created.status == 201, "creation refused: {created:?}");
        let location = created.location.clone().context("no Location")?;
        let mut offset = created.offset.unwrap_or(0);
        let mut last = created;
        while offset < bytes.len() as u64 {
            let end = (offset as usize + chunk).min(bytes.len());
            last = self
                .patch(&location, offset, &bytes[offset as usize..end])
                .await?;
            if last.status != 204 {
                return Ok(last);
            }
            offset = last.offset.context("no Upload-Offset")?;
        }
        Ok(last)
    }

    /// `GET /api/blobs/{hash}` (with `?size=thumb` when `thumb`).
    pub async fn blob(&self, hash: &str, thumb: bool) -> anyhow::Result<reqwest::Response> {
        let query = if thumb { "?size=thumb" } else { "" };
        Ok(self
            .http
            .get(format!("{}/api/blobs/{hash}{query}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?)
    }
}

/// The folder Cargo builds into (`target`), from the test binary's path.
///
/// # Errors
/// When the server binary's path has no such folder.
pub fn target_dir() -> anyhow::Result<PathBuf> {
    let bin = crate::process::server_binary()?;
    bin.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("the server binary has no target folder")
}

/// Installs `tus-js-client` from npm into `target/tools/tus` once; returns that folder.
///
/// # Errors
/// When npm is missing or the install fails (the message says how to run it by hand).
pub fn tus_js_client() -> anyhow::Result<PathBuf> {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = target_dir()?.join("tools").join("tus");
    if dir.join("node_modules/tus-js-client/package.json").exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)?;
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg("tus-js-client@4.3.1")
        .output()
        .context("running npm (Node 20 and npm are needed for this test)")?;
    if !out.status.success() {
        bail!(
            "`npm install --prefix {} tus-js-client@4.3.1` failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(dir)
}

/// The Node script that uploads a file with `tus-js-client`: endpoint, token, file, sha256,
/// filetype as arguments; retries after every failure (up to 60 times, 50 ms apart), 64 KiB
/// chunks; prints `DONE <url>` or `ERROR <why>`.
const TUS_JS: &str = r#"
const tus = require('tus-js-client');
const fs = require('fs');
const [endpoint, token, file, sha256, filetype] = process.argv.slice(2);
const data = fs.readFileSync(file);
let progress = 0;
const upload = new tus.Upload(data, {
  endpoint,
  chunkSize: 64 * 1024,
  retryDelays: Array(60).fill(50),
  headers: { Authorization: 'Bearer ' + token },
  metadata: { sha256, filetype },
  onProgress: (sent) => { progress = sent; },
  onError: (e) => { console.log('ERROR ' + e); process.exit(1); },
  onSuccess: () => { console.log('DONE ' + upload.url); process.exit(0); },
});
upload.start();
"#;

/// Uploads `file` with `tus-js-client` to `endpoint` (`…/api/uploads`); its output.
///
/// # Errors
/// When Node fails or the client reports an error.
pub fn upload_with_tus_js(
    endpoint: &str,
    token: &str,
    file: &Path,
    sha256: &str,
    filetype: &str,
) -> anyhow::Result<String> {
    let tools = tus_js_client()?;
    let script = tools.join("upload.js");
    std::fs::write(&script, TUS_JS)?;
    let out = Command::new("node")
        .arg(&script)
        .args([endpoint, token])
        .arg(file)
        .args([sha256, filetype])
        .env("NODE_PATH", tools.join("node_modules"))
        .output()
        .context("running node")?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    ensure!(
        out.status.success() && stdout.contains("DONE "),
        "tus-js-client failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(stdout)
}

/// Records a visit offline on `dev` (the `n`th of the test, as [`visit_with_photo`] numbers
/// them) that the enterprise's `by_name` confirmed by `signature`; returns its id. Sync to
/// send it.
pub fn signed_visit(
    dev: &mut NativeDevice,
    n: u64,
    enterprise: EnterpriseId,
    by_name: &str,
    signature: &shared::model::Signature,
) -> anyhow::Result<DocId> {
    let id = VisitId::from_random_bytes(id_bytes(90, n));
    let at = Timestamp(1_793_491_200_000);
    let visit = NewVisit {
        id,
        enterprise,
        method: VisitMethod::OnSite,
        check_in: Some(CheckIn {
            device_time: at,
            position: PositionFix::PermissionRefused,
            photo_hash: None,
        }),
        operating_status: OperatingStatus::Normal,
        notes: "企业签字确认".into(),
    };
    let mut doc = VisitDoc::create(&visit, &dev.actor, dev.actor_id.clone(), at)?;
    doc.edit(&dev.actor, at, |v| v.sign(by_name, at, signature))?;
    let doc_id = DocId::new(DocKind::Visit, &id.to_string());
    dev.client
        .replica_mut()
        .insert_new(doc_id.clone(), doc.into_record());
    Ok(doc_id)
}
