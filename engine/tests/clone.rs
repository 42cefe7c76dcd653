//! Voice cloning with the real weights, kept small for CI: a held-out stock voice's speech as the reference, a
//! short search, and the pack's round trip through the voice loader. The full evaluation (held-out voices,
//! other engines' voices, held-out text, Whisper) is `cargo xtask clone-eval`.

mod common;

use common::engine;
use warble_engine::{CloneOptions, SynthesisOptions, VoiceLibrary};
use warble_speaker::prior::StylePrior;
use warble_speaker::{Audio, cosine, prepare_reference};

const REFERENCE: &str = "The old lighthouse keeper climbed the stairs each night and polished the great lens.";
const HELD_OUT_TEXT: &str = "A quiet wind moved through the tall grass behind the farmhouse.";

fn speech(voice: &str, text: &str) -> Vec<f32> {
    engine().synthesize_text(text, Some(warble_engine::Language::EnGb), &SynthesisOptions::new(voice)).unwrap().audio
}

#[test]
fn a_clone_of_a_held_out_voice_beats_the_stock_voices_and_round_trips() {
    let prior = StylePrior::embedded().unwrap();
    let target = "bf_emma";
    assert!(prior.held_out.iter().any(|h| h == target), "{target} must be held out of the prior");
    let reference = prepare_reference(&Audio::from_samples("reference", speech(target, REFERENCE), 24_000)).unwrap();
    let mut seen = Vec::new();
    let opts = CloneOptions { evaluations: 6, ..CloneOptions::default() };
    let voice = engine().clone_voice(&reference, "emma_clone", &opts, &mut |p| seen.push(p)).unwrap();
    println!(
        "clone: {:.3} on the fitting sentences, best stock {} {:.3}, nearest voice {:?}, spacing {:.2}",
        voice.similarity, voice.best_stock.0, voice.best_stock.1, voice.nearest_voice, voice.stock_spacing
    );
    // Progress is reported once per candidate, and the search never ends worse than its best stock start.
    assert_eq!(seen.len(), 6);
    assert_eq!(voice.evaluations, 6);
    assert!(voice.similarity >= voice.best_stock.1);
    assert!(seen.windows(2).all(|w| w[1].best >= w[0].best));
    // Stays in the region voices occupy: no further from a stock voice than ~2 stock spacings.
    assert!(voice.nearest_voice.1 < 2.0 * voice.stock_spacing, "{:?}", voice.nearest_voice);

    // Written, read back by the voice loader, blended with a stock voice, spoken.
    let dir = std::env::temp_dir().join(format!("warble-clone-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("emma_clone.bin");
    voice.pack.write_bin(&file).unwrap();
    let lib = VoiceLibrary::load(&file).unwrap();
    assert_eq!(lib.get("emma_clone").unwrap().as_slice(), voice.pack.as_slice());
    let path = file.to_str().unwrap().to_string();
    let clone_audio = speech(&path, HELD_OUT_TEXT);
    let blend = speech(&format!("{path}:0.5,bf_alice:0.5"), HELD_OUT_TEXT);
    assert!(!blend.is_empty() && blend != clone_audio);

    // On a sentence it was not fitted on, the clone is closer to the reference than the stock voice it started from.
    let r = engine().speaker_embedding(&reference.samples).unwrap();
    let clone_sim = cosine(&engine().output_embedding(&clone_audio).unwrap(), &r);
    let stock_sim = cosine(&engine().output_embedding(&speech(&voice.best_stock.0, HELD_OUT_TEXT)).unwrap(), &r);
    println!("held-out sentence: clone {clone_sim:.3}, {} {stock_sim:.3}", voice.best_stock.0);
    assert!(clone_sim > stock_sim, "clone {clone_sim:.3} vs stock {stock_sim:.3}");
    std::fs::remove_dir_all(&dir).unwrap();

    // A transcript reaches the search: one with nothing to say is refused before any render.
    let opts = CloneOptions { transcript: Some(" ... ".into()), ..opts };
    let err = engine().clone_voice(&reference, "x", &opts, &mut |_| panic!("rendered")).unwrap_err();
    assert!(err.to_string().contains("transcript"), "{err}");
}

/// The prior's stored embeddings of its voices on the fitting sentences, which a search takes instead of rendering
/// the stock voices it starts from, are what this engine renders for those voices (on this CPU, in this build).
/// A change to the sentences, the G2P or the model that makes them stale fails here; `cargo xtask train-speaker
/// --fit-embeddings-only` renews them.
#[test]
fn the_prior_stores_what_the_search_renders_for_its_voices() {
    let prior = StylePrior::embedded().unwrap();
    let fit = prior.fit.as_ref().expect("the shipped prior stores its fitting-sentence embeddings");
    for v in [0, prior.voices() - 1] {
        let rendered = engine().fit_embedding(&prior, v).unwrap();
        let c = cosine(&rendered, &fit.voice(v).unwrap());
        println!("{}: stored vs rendered cosine {c:.6}", prior.names[v]);
        assert!(c >= 0.9995, "{}: the stored embedding is stale (cosine {c:.6} with a fresh render)", prior.names[v]);
    }
}
