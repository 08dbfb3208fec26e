//! Makes the shipped scripts and styles smaller for `cargo xtask build-client`: wasm-bindgen's
//! import names shortened in a bundle's wasm and its script (each name carries a 16-digit hash
//! that brotli cannot compress, once in each file), and esbuild's minifier over the scripts
//! and the style sheet (whitespace, comments, local names), which also bundles into each
//! bundle's script the client's own JavaScript modules it imports. None of it changes what
//! the code does.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};

use crate::build_client::{installed_version, npm_install};
use crate::workspace::{run_checked, show};

/// The esbuild release the minifier comes from (npm; its binary is the `@esbuild/<platform>`
/// package npm picks).
const ESBUILD_VERSION: &str = "0.28.2";

/// Returns esbuild's executable, installing `esbuild@ESBUILD_VERSION` from npm into `tools`
/// first if that version is not there.
pub fn ensure_esbuild(tools: &Path) -> anyhow::Result<PathBuf> {
    let package = tools.join("node_modules").join("esbuild");
    let binary = tools.join("node_modules").join(".bin").join("esbuild");
    if installed_version(&package).as_deref() == Some(ESBUILD_VERSION) && binary.is_file() {
        return Ok(binary);
    }
    eprintln!(
        "==> installing esbuild (npm esbuild@{ESBUILD_VERSION}) into {}",
        tools.display()
    );
    npm_install(tools, &format!("esbuild@{ESBUILD_VERSION}"))?;
    if !binary.is_file() {
        bail!("npm installed esbuild, but {} is missing", binary.display());
    }
    Ok(binary)
}

/// Minifies a `.js` or `.css` file in place with esbuild (UTF-8 text kept as it is, not
/// escaped; a script's module syntax and top-level names kept).
pub fn minify(esbuild: &Path, file: &Path) -> anyhow::Result<()> {
    let mut command = Command::new(esbuild);
    command
        .arg(file)
        .args(["--minify", "--charset=utf8", "--log-level=warning"])
        .arg("--allow-overwrite")
        .arg(format!("--outfile={}", file.display()));
    run_checked(&mut command).with_context(|| format!("minifying with `{}`", show(&command)))
}

/// Minifies a bundle's wasm-bindgen script in place with esbuild and bundles into it the
/// JavaScript modules it imports (wasm-bindgen writes the client's own modules, such as
/// `client/src/infra/db.js`, under `snippets/`): the phone fetches, caches and is counted for
/// one script per bundle. The script's exports (`default`, `initSync`) are kept.
pub fn minify_bundle(esbuild: &Path, script: &Path) -> anyhow::Result<()> {
    let mut command = Command::new(esbuild);
    command
        .arg(script)
        .args(["--bundle", "--format=esm"])
        .args(["--minify", "--charset=utf8", "--log-level=warning"])
        .arg("--allow-overwrite")
        .arg(format!("--outfile={}", script.display()));
    run_checked(&mut command).with_context(|| format!("bundling with `{}`", show(&command)))
}

/// Renames every import the wasm takes from its wasm-bindgen script (module `./<stem>_bg.js`,
/// names like `__wbg_accuracy_8c93af160ff94cc7`) to a short name (`a0`, `a1`, …), in the wasm's
/// import section and in the script's import object, where each name is one key. Fails if the
/// script does not hold each name exactly once as such a key (a wasm-bindgen whose output
/// looks different): nothing is written then. Returns how many imports were renamed.
pub fn shorten_imports(wasm_path: &Path, js_path: &Path, stem: &str) -> anyhow::Result<usize> {
    let wasm = fs::read(wasm_path).with_context(|| format!("reading {}", wasm_path.display()))?;
    let mut js =
        fs::read_to_string(js_path).with_context(|| format!("reading {}", js_path.display()))?;
    let module = format!("./{stem}_bg.js");
    let (wasm, renamed) = rename_imports(&wasm, &module)
        .with_context(|| format!("reading the imports of {}", wasm_path.display()))?;
    for (old, new) in &renamed {
        // The import object's keys, as wasm-bindgen 0.2.130 writes them.
        let key = format!("\n        {old}: ");
        ensure!(
            js.matches(&key).count() == 1 && js.matches(old.as_str()).count() == 1,
            "{} does not hold import {old} exactly once as a key of its import object",
            js_path.display()
        );
        js = js.replace(&key, &format!("\n        {new}: "));
    }
    fs::write(wasm_path, wasm).with_context(|| format!("writing {}", wasm_path.display()))?;
    fs::write(js_path, js).with_context(|| format!("writing {}", js_path.display()))?;
    Ok(renamed.len())
}

/// Each renamed import's (old, new) name.
type Renamed = Vec<(String, String)>;

/// The wasm with its imports from `module` renamed, and the (old, new) names.
fn rename_imports(wasm: &[u8], module: &str) -> anyhow::Result<(Vec<u8>, Renamed)> {
    let mut reader = Reader { bytes: wasm, at: 0 };
    ensure!(
        reader.take(8)? == b"\0asm\x01\0\0\0",
        "not a version 1 wasm module"
    );
    let mut out = wasm[..8].to_vec();
    let mut renamed = Vec::new();
    while reader.at < wasm.len() {
        let id = reader.byte()?;
        let size = usize::try_from(reader.leb()?)?;
        let body = reader.take(size)?;
        if id != 2 {
            out.push(id);
            push_leb(&mut out, size as u64);
            out.extend_from_slice(body);
            continue;
        }
        let mut section = Reader { bytes: body, at: 0 };
        let count = section.leb()?;
        let mut new_body = Vec::with_capacity(body.len());
        push_leb(&mut new_body, count);
        for _ in 0..count {
            let from = section.name()?;
            let name = section.name()?;
            let description = section.import_description()?;
            let new_name = if from == module {
                let short = format!("a{:x}", renamed.len());
                renamed.push((name.to_owned(), short.clone()));
                short
            } else {
                name.to_owned()
            };
            push_name(&mut new_body, from);
            push_name(&mut new_body, &new_name);
            new_body.extend_from_slice(description);
        }
        ensure!(
            section.at == body.len(),
            "bytes after the import section's entries"
        );
        out.push(id);
        push_leb(&mut out, new_body.len() as u64);
        out.extend_from_slice(&new_body);
    }
    Ok((out, renamed))
}

/// Reads a wasm module's bytes front to back.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        let end = self.at.checked_add(n).context("length overflow")?;
        let slice = self.bytes.get(self.at..end).context("truncated module")?;
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self) -> anyhow::Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned LEB128 number (at most 64 bits).
    fn leb(&mut self) -> anyhow::Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("a LEB128 number longer than 64 bits")
    }

    fn name(&mut self) -> anyhow::Result<&'a str> {
        let len = usize::try_from(self.leb()?)?;
        std::str::from_utf8(self.take(len)?).context("a name that is not UTF-8")
    }

    /// The bytes of an import's kind and type, as they are.
    fn import_description(&mut self) -> anyhow::Result<&'a [u8]> {
        let start = self.at;
        match self.byte()? {
            // A function or a tag (attribute, then type index).
            0x00 => {
                self.leb()?;
            }
            0x04 => {
                self.byte()?;
                self.leb()?;
            }
            // A table: element type, then limits.
            0x01 => {
                self.byte()?;
                self.limits()?;
            }
            0x02 => self.limits()?,
            // A global: value type, mutability.
            0x03 => {
                self.take(2)?;
            }
            other => bail!("an import of unknown kind {other:#x}"),
        }
        Ok(&self.bytes[start..self.at])
    }

    fn limits(&mut self) -> anyhow::Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 == 1 {
            self.leb()?;
        }
        Ok(())
    }
}

fn push_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    push_leb(out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing two functions from `./app_bg.js` and a memory from `env`.
    fn module() -> Vec<u8> {
        let mut imports = Vec::new();
        push_leb(&mut imports, 3);
        for (from, name) in [
            ("./app_bg.js", "__wbg_log_0123456789abcdef"),
            ("env", "memory"),
        ] {
            push_name(&mut imports, from);
            push_name(&mut imports, name);
            if from == "env" {
                imports.extend_from_slice(&[0x02, 0x01, 0x11, 0x80, 0x01]);
            } else {
                imports.extend_from_slice(&[0x00, 0x00]);
            }
        }
        push_name(&mut imports, "./app_bg.js");
        push_name(&mut imports, "__wbindgen_throw");
        imports.extend_from_slice(&[0x00, 0x01]);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        // A type section before, a custom section after: both kept byte for byte.
        wasm.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        wasm.push(0x02);
        push_leb(&mut wasm, imports.len() as u64);
        wasm.extend_from_slice(&imports);
        wasm.extend_from_slice(&[0x00, 0x03, 0x01, b'x', 0x07]);
        wasm
    }

    /// The (module, name) of each import of `wasm`, whose import section is its second.
    fn imports(wasm: &[u8]) -> Vec<(String, String)> {
        let mut reader = Reader {
            bytes: wasm,
            at: 14,
        };
        assert_eq!(reader.byte().expect("id"), 0x02);
        reader.leb().expect("size");
        let count = reader.leb().expect("count");
        (0..count)
            .map(|_| {
                let from = reader.name().expect("module").to_owned();
                let name = reader.name().expect("name").to_owned();
                reader.import_description().expect("description");
                (from, name)
            })
            .collect()
    }

    #[test]
    fn imports_from_the_bindgen_script_get_short_names_and_the_rest_is_kept() {
        let original = module();
        let (wasm, renamed) = rename_imports(&original, "./app_bg.js").expect("parses");
        assert_eq!(
            renamed,
            [
                ("__wbg_log_0123456789abcdef".to_owned(), "a0".to_owned()),
                ("__wbindgen_throw".to_owned(), "a1".to_owned()),
            ]
        );
        let names = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(from, name)| ((*from).to_owned(), (*name).to_owned()))
                .collect()
        };
        assert_eq!(
            imports(&wasm),
            names(&[
                ("./app_bg.js", "a0"),
                ("env", "memory"),
                ("./app_bg.js", "a1")
            ])
        );
        // The sections before and after are kept byte for byte; the names lost 38 bytes.
        assert_eq!(wasm[..14], original[..14]);
        assert_eq!(wasm[wasm.len() - 5..], original[original.len() - 5..]);
        assert_eq!(wasm.len(), original.len() - 38);
    }

    #[test]
    fn a_truncated_module_is_refused() {
        let wasm = module();
        assert!(rename_imports(&wasm[..wasm.len() - 10], "./app_bg.js").is_err());
    }
}
