//! Prints what the parser makes of an SSML document, for debugging markup by hand.
//!
//! `cargo run -p warble-ssml --example dump -- '<speak>Hello <break/> world</speak>'`
//! (or pipe the document on standard input).

use std::io::Read;
use std::process::ExitCode;

use warble_ssml::{Item, ParseOptions, parse};

fn main() -> ExitCode {
    let input = match std::env::args().nth(1) {
        Some(s) => s,
        None => {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                eprintln!("cannot read standard input: {e}");
                return ExitCode::FAILURE;
            }
            s
        }
    };
    match parse(&input, &ParseOptions::default()) {
        Ok((doc, warnings)) => {
            for item in doc.items() {
                match item {
                    Item::Segment(s) => println!(
                        "segment {:?} lang={:?} voice={:?} {:?}",
                        s.content,
                        s.lang.as_deref(),
                        s.voice.as_ref().and_then(|v| v.name.as_deref()),
                        s.controls
                    ),
                    Item::Event(e) => println!("event   {e:?}"),
                }
            }
            for w in warnings {
                println!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
