//! Tidy check on the client's sources: every screen's `<main>` carries a `key`. Screens that
//! are plain functions (the home, an enterprise's page, history, "not found") all render a
//! `<main>` in the same place, and yew patches one into the next when their keys agree; the
//! home sets its class as a property (`~className`, the officer bundle's size budget) and the
//! others as the `class` attribute, and patching one into the other loses the class (yew
//! removes the old one after setting the new). A key per screen makes each switch a new
//! element. `browser_todo` walks the home → enterprise page → home path in a browser.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sources(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[test]
fn every_screens_main_has_a_key() -> anyhow::Result<()> {
    let components = Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/src/components");
    let mut files = Vec::new();
    sources(&components, &mut files)?;
    let mut mains = 0;
    let mut unkeyed = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)?;
        for (n, line) in text.lines().enumerate() {
            let Some(at) = line.find("<main") else {
                continue;
            };
            if line.trim_start().starts_with("//") {
                continue;
            }
            mains += 1;
            if !line[at..].starts_with("<main key=") {
                unkeyed.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    anyhow::ensure!(
        mains > 10,
        "found only {mains} <main> elements: wrong folder?"
    );
    anyhow::ensure!(
        unkeyed.is_empty(),
        "screens whose <main> has no key (give it one naming the screen):\n{}",
        unkeyed.join("\n")
    );
    Ok(())
}
