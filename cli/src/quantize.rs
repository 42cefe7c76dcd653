//! `warble quantize`: the f32 Kokoro weights → a quantized model file (INT8, INT4-mixed, BF16 or a policy file),
//! loadable with `warble say --model FILE`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use warble_quant::{Policy, Precision, QuantizedModel, Scheme, is_quantized_file};

use crate::check_writable;

#[derive(clap::Args)]
pub struct QuantizeArgs {
    /// Built-in policy: int8 (~90 MB), int4-mixed (~58.5 MB) or bf16 (~163 MB)
    #[arg(long, value_parser = ["int8", "int4-mixed", "bf16"])]
    scheme: Option<String>,
    /// Policy file: JSON rules {"rules": [{"pattern": "KEY GLOB", "precision": "int8"}, …]}, first match wins
    /// (see quant/README.md); without --scheme the file is labelled scheme "custom"
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Where to write the quantized model (a .safetensors file)
    #[arg(short, long)]
    output: PathBuf,
    /// The f32 weights to quantize (.onnx, .pth or .safetensors, or a folder holding one) [default: as `warble say`]
    #[arg(long)]
    model: Option<PathBuf>,
}

pub fn quantize(args: QuantizeArgs) -> Result<()> {
    // Everything that can be checked without the weights first: the output path, the scheme, the policy file.
    let is_safetensors = args.output.extension().is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
    if !is_safetensors {
        bail!(
            "cannot write {}: a quantized model must be a .safetensors file (Warble picks the weights format by \
             extension); use e.g. -o kokoro-int8.safetensors",
            args.output.display()
        );
    }
    check_writable(&args.output)?;
    let (scheme, policy, policy_name) = match (&args.scheme, &args.policy) {
        (_, Some(file)) => {
            let scheme = args.scheme.clone().unwrap_or_else(|| Scheme::Custom.name().to_string());
            (scheme, Policy::load(file)?, file.display().to_string())
        }
        (Some(name), None) => {
            let scheme: Scheme = name.parse()?;
            let policy = scheme.policy().context("the custom scheme needs --policy FILE")?;
            (scheme.name().to_string(), policy, format!("built-in {}", scheme.name()))
        }
        (None, None) => bail!("say how to quantize: --scheme int8|int4-mixed|bf16, or --policy FILE"),
    };

    let source = warble_engine::paths::resolve_model(args.model.as_deref())?;
    if is_quantized_file(&source) {
        bail!(
            "{} is already a quantized model; quantize the float weights instead (e.g. kokoro-v1.0.int8.onnx or \
             kokoro-v1_0.pth with --model)",
            source.display()
        );
    }
    if same_file(&source, &args.output) {
        bail!(
            "refusing to overwrite the source weights {} with their quantized copy; pick another -o",
            source.display()
        );
    }

    let t = Instant::now();
    let (weights, _) = warble_weights::load_cached(&source, &warble_weights::default_cache_dir())
        .with_context(|| format!("loading {}", source.display()))?;
    weights.check_layout(warble_weights::kokoro_v1_0_layout(), "Kokoro-82M v1.0")?;
    let model = QuantizedModel::quantize(&weights, &policy, &scheme, &policy_name)?;
    model.write(&args.output)?;
    let seconds = t.elapsed().as_secs_f64();

    let mb = |bytes: u64| bytes as f64 / 1e6;
    let file_size =
        std::fs::metadata(&args.output).with_context(|| format!("reading {}", args.output.display()))?.len();
    let f32_bytes = 4 * weights.parameter_count() as u64;
    println!(
        "wrote {} (scheme {scheme}): {:.2} MB, {:.1}× smaller than the f32 weights ({:.1} MB), in {seconds:.1} s",
        args.output.display(),
        mb(file_size),
        f32_bytes as f64 / file_size as f64,
        mb(f32_bytes),
    );
    for (precision, s) in model.stats().iter().filter(|(_, s)| s.tensors > 0).rev() {
        println!(
            "  {:<5} {:>4} tensors {:>11} parameters {:>7.2} MB",
            precision.name(),
            s.tensors,
            group_thousands(s.parameters),
            mb(s.bytes as u64)
        );
    }
    if model.stats()[&Precision::F32].tensors == model.tensors.len() {
        eprintln!("warble: warning: the policy keeps every weight in f32; the file is not smaller");
    }
    println!("use it: warble say --model {} \"Hello there.\"", args.output.display());
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}
