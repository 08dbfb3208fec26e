//! `lianxin-fuzz`: the stable-Rust mutational fuzzer of `tests::fuzz` as a command.
//!
//! ```text
//! lianxin-fuzz --target wire|load|validate|merge|all --execs N [--seed S] [--crashes DIR]
//!              [--json FILE]
//! lianxin-fuzz --minimize FILE [--base SEED] [--out FILE]
//! ```
//!
//! A run prints one line per target (executions, executions per second, panics) and one per
//! distinct panic, saves the first input of each panic location under `--crashes` (default
//! `target/fuzz-crashes`), and exits 1 when a target that must not panic did (wire, validate
//! after a load that returned, merge); automerge's own panics inside a load are reported but
//! do not fail. `--execs` is per target. `--minimize` shrinks an input on which automerge's
//! load panics (`AutoCommit::load`, or `load_incremental` onto an empty document or onto the
//! base of the change seed `--base`, named in the crash's `.txt`), keeping the same panic
//! location, and writes it to `--out` (default `FILE.min`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use tests::fuzz::{self, Options, QuietPanics, Target, minimize::minimize};

struct Args {
    targets: Vec<Target>,
    options: Options,
    json: Option<PathBuf>,
    minimize: Option<PathBuf>,
    base: Option<String>,
    out: Option<PathBuf>,
}

fn parse() -> anyhow::Result<Args> {
    let mut args = Args {
        targets: Target::ALL.to_vec(),
        options: Options {
            execs: 100_000,
            seed: 1,
            crashes: Some(PathBuf::from("target/fuzz-crashes")),
        },
        json: None,
        minimize: None,
        base: None,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--target" => {
                let v = value()?;
                args.targets = if v == "all" {
                    Target::ALL.to_vec()
                } else {
                    v.split(',')
                        .map(|t| Target::parse(t).with_context(|| format!("no target {t}")))
                        .collect::<anyhow::Result<_>>()?
                };
            }
            "--execs" => args.options.execs = value()?.replace('_', "").parse()?,
            "--seed" => args.options.seed = value()?.parse()?,
            "--crashes" => args.options.crashes = Some(value()?.into()),
            "--json" => args.json = Some(value()?.into()),
            "--minimize" => args.minimize = Some(value()?.into()),
            "--out" => args.out = Some(value()?.into()),
            "--base" => args.base = Some(value()?),
            "-h" | "--help" => {
                println!(
                    "lianxin-fuzz --target wire|load|validate|merge|all --execs N [--seed S] \
                     [--crashes DIR] [--json FILE]\nlianxin-fuzz --minimize FILE [--base SEED] [--out FILE]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (see --help)"),
        }
    }
    Ok(args)
}

fn minimize_file(path: &PathBuf, base: Option<&str>, out: Option<PathBuf>) -> anyhow::Result<()> {
    let input = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let base = match base {
        None => None,
        Some(name) => {
            let seed = fuzz::seeds::all()
                .into_iter()
                .find(|s| s.name == name)
                .with_context(|| format!("no seed {name}"))?;
            match seed.form {
                fuzz::seeds::Form::Changes { base } => Some(automerge::AutoCommit::load(&base)?),
                _ => bail!("seed {name} is not a change seed (it has no base)"),
            }
        }
    };
    let quiet = QuietPanics::install();
    let Some(first) = fuzz::load_panic(&input, base.as_ref()) else {
        bail!("automerge does not panic loading {}", path.display());
    };
    let small = minimize(
        &input,
        |b| fuzz::load_panic(b, base.as_ref()).is_some_and(|c| c.location == first.location),
        200_000,
    );
    drop(quiet);
    let out = out.unwrap_or_else(|| path.with_extension("min"));
    std::fs::write(&out, &small)?;
    println!(
        "{} bytes -> {} bytes, still panicking at {}: {}\nwrote {}",
        input.len(),
        small.len(),
        first.location,
        first.message,
        out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let result = parse().and_then(|args| {
        if let Some(path) = &args.minimize {
            minimize_file(path, args.base.as_deref(), args.out.clone())?;
            return Ok(true);
        }
        let mut ok = true;
        let mut json = Vec::new();
        for target in &args.targets {
            let report = fuzz::run(*target, &args.options);
            println!("{}", report.summary());
            ok &= report.failures() == 0;
            json.push(serde_json::json!({
                "target": target.name(),
                "execs": report.execs,
                "seconds": report.elapsed.as_secs_f64(),
                "execs_per_second": report.rate(),
                "failing_panics": report.failures(),
                "automerge_panics": report.expected_panics(),
                "panic_locations": report.crashes.keys().collect::<Vec<_>>(),
            }));
        }
        if let Some(path) = &args.json {
            std::fs::write(path, serde_json::to_string_pretty(&json)?)?;
        }
        Ok(ok)
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("a target that must not panic panicked (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
