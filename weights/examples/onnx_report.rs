//! Prints how every initializer of an ONNX export was classified, one per line:
//! `kind <TAB> initializer <TAB> keys/details`. Usage:
//! `cargo run --release --example onnx_report -p warble-weights -- path/to/model.onnx`
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).map(PathBuf::from).ok_or("usage: onnx_report <model.onnx>")?;
    let (map, report) = warble_weights::onnx::load_onnx(&path)?;
    for account in &report.initializers {
        let detail = match &account.role {
            warble_weights::onnx::InitializerRole::Weight { keys, transform } => {
                format!("{} ({transform})", keys.join(";"))
            }
            warble_weights::onnx::InitializerRole::QuantParam { used_by } => used_by.join(";"),
            warble_weights::onnx::InitializerRole::DerivedReciprocal { of } => format!("1/{of}"),
            warble_weights::onnx::InitializerRole::Buffer { what } => what.to_string(),
            warble_weights::onnx::InitializerRole::Constant => account.consumers.join(","),
        };
        println!("{}\t{}\t{:?}\t{detail}", account.role.kind(), account.name, account.shape);
    }
    eprintln!(
        "{} nodes, {} initializers: {} weight, {} qparam, {} derived, {} buffer, {} const → {} keys, {} parameters",
        report.node_count,
        report.initializers.len(),
        report.count("weight"),
        report.count("qparam"),
        report.count("derived"),
        report.count("buffer"),
        report.count("const"),
        map.len(),
        map.parameter_count()
    );
    Ok(())
}
