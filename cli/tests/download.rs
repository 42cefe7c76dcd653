//! `warble download` against a local HTTP server that serves the real files of `$WARBLE_MODEL_DIR` under the
//! upstream paths (so `--mirror` is exercised as users use it), and can cut connections, ignore `Range` and
//! corrupt a byte.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const RELEASE: &str = "/thewh1teagle/kokoro-onnx/releases/download/model-files-v1.0";
const ONNX_COMMUNITY: &str = "/onnx-community/Kokoro-82M-v1.0-ONNX/resolve/main";
const INT8: &str = "kokoro-v1.0.int8.onnx";

fn model_dir() -> PathBuf {
    let d = std::env::var_os("WARBLE_MODEL_DIR")
        .map(PathBuf::from)
        .expect("set WARBLE_MODEL_DIR to the folder with the Kokoro weights (CI: ../shared/models); the download test serves them");
    assert!(d.join(INT8).is_file(), "{} has no {INT8}", d.display());
    d
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("download-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (URL path, `Range` header) of every request, in order.
type Log = Mutex<Vec<(String, Option<String>)>>;

/// How the server misbehaves, per URL path.
#[derive(Default)]
struct Faults {
    /// Close the connection after this many body bytes: (bytes, how many responses are cut).
    cut: HashMap<String, (usize, usize)>,
    /// Flip one byte in the middle of the file.
    corrupt: Vec<String>,
    /// Answer `Range` requests with the whole file (200), as some servers do.
    ignore_range: bool,
}

struct Server {
    base: String,
    log: Arc<Log>,
    faults: Arc<Mutex<Faults>>,
}

impl Server {
    fn start() -> Server {
        let dir = model_dir();
        let mut files: HashMap<String, PathBuf> = HashMap::new();
        files.insert(format!("{RELEASE}/{INT8}"), dir.join(INT8));
        // An npz of five voices stands in for kokoro-onnx's voices-v1.0.bin (the same container).
        files.insert(format!("{RELEASE}/voices-v1.0.bin"), dir.join("voices_ja.npz"));
        for e in std::fs::read_dir(dir.join("voices")).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".bin") {
                files.insert(format!("{ONNX_COMMUNITY}/voices/{name}"), dir.join("voices").join(&name));
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = Server { base, log: Arc::default(), faults: Arc::default() };
        let (log, faults) = (server.log.clone(), server.faults.clone());
        let cache: Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>> = Arc::default();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (files, log, faults, cache) = (files.clone(), log.clone(), faults.clone(), cache.clone());
                std::thread::spawn(move || serve(stream, &files, &log, &faults, &cache));
            }
        });
        server
    }

    fn requests(&self, file: &str) -> Vec<Option<String>> {
        self.log.lock().unwrap().iter().filter(|(p, _)| p.ends_with(file)).map(|(_, r)| r.clone()).collect()
    }
}

fn serve(
    stream: TcpStream,
    files: &HashMap<String, PathBuf>,
    log: &Log,
    faults: &Mutex<Faults>,
    cache: &Mutex<HashMap<String, Arc<Vec<u8>>>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_string());
        }
    }
    log.lock().unwrap().push((path.clone(), range.clone()));
    let mut out = stream;
    let Some(file) = files.get(&path) else {
        let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let data =
        cache.lock().unwrap().entry(path.clone()).or_insert_with(|| Arc::new(std::fs::read(file).unwrap())).clone();
    let (cut, corrupt, ignore_range) = {
        let mut f = faults.lock().unwrap();
        let cut = match f.cut.get_mut(&path) {
            Some((bytes, left)) if *left > 0 => {
                *left -= 1;
                Some(*bytes)
            }
            _ => None,
        };
        (cut, f.corrupt.contains(&path), f.ignore_range)
    };
    let len = data.len();
    let start = match range.as_deref().and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok()) {
        Some(s) if !ignore_range => s,
        _ => 0,
    };
    let head = if start >= len && start > 0 {
        let _ = write!(
            out,
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\n\r\n"
        );
        return;
    } else if start > 0 {
        format!("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}\r\n", len - 1)
    } else {
        "HTTP/1.1 200 OK\r\n".to_string()
    };
    let _ = write!(out, "{head}Content-Length: {}\r\nConnection: close\r\n\r\n", len - start);
    let mut body = data[start..].to_vec();
    if corrupt && len / 2 >= start {
        body[len / 2 - start] ^= 0x5a;
    }
    let end = cut.map_or(body.len(), |c| c.min(body.len()));
    let _ = out.write_all(&body[..end]);
    let _ = out.flush();
    // Dropping the stream closes the connection: cut short if `end` < the announced length.
}

fn warble(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warble"));
    cmd.args(args).env("WARBLE_CACHE_DIR", PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("warble-converted"));
    for var in ["WARBLE_MIRROR", "HF_ENDPOINT", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        cmd.env_remove(var);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run warble")
}

fn download(server: &Server, to: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["download", "--to", to.to_str().unwrap(), "--mirror", &server.base];
    args.extend_from_slice(extra);
    warble(&args, &[])
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            found.extend(leftovers(&p));
        } else if p.to_string_lossy().ends_with(".part") {
            found.push(p.display().to_string());
        }
    }
    found
}

#[test]
fn downloads_into_a_folder_warble_speaks_from_and_keeps_what_is_there() {
    let server = Server::start();
    let to = scratch("full");
    let o = download(&server, &to, &[]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(same_bytes(&to.join(INT8), &model_dir().join(INT8)));
    assert!(same_bytes(&to.join("voices-v1.0.bin"), &model_dir().join("voices_ja.npz")));
    assert!(out.contains(&format!("{INT8}: 92.4 MB, sha256 verified")), "{out}");
    assert!(out.contains("voices-v1.0.bin: 2.6 MB, content checked, no published size or digest pinned"), "{out}");
    assert!(out.contains(&format!("ready in {}", to.display())) && out.contains("warble say"), "{out}");
    assert!(leftovers(&to).is_empty());

    // The files work: `warble say` finds them through WARBLE_MODEL_DIR.
    let wav = to.join("hi.wav");
    let o = warble(
        &["say", "--phonemes", "kˈoʊkəɹoʊ", "--voice", "jf_alpha", "--no-noise", "-o", wav.to_str().unwrap()],
        &[("WARBLE_MODEL_DIR", &to)],
    );
    assert!(o.status.success(), "{}", text(&o));
    let r = hound::WavReader::open(&wav).unwrap();
    assert_eq!(r.spec().sample_rate, 24_000);
    assert!(r.len() > 6_000, "{} samples", r.len());

    // Present files are verified and kept, not fetched again; --force fetches them again.
    let before = server.requests(INT8).len();
    let o = download(&server, &to, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("{INT8}: already present, kept: 92.4 MB, sha256 verified")), "{}", text(&o));
    assert_eq!(server.requests(INT8).len(), before);
    let o = download(&server, &to, &["--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(server.requests(INT8).len(), before + 1);
}

#[test]
fn a_cut_connection_is_resumed_with_a_range_request() {
    let server = Server::start();
    let to = scratch("resume");
    // The weights are there already: this test is about the voices.
    std::fs::copy(model_dir().join(INT8), to.join(INT8)).unwrap();
    let heart = format!("{ONNX_COMMUNITY}/voices/af_heart.bin");
    server.faults.lock().unwrap().cut.insert(heart, (100_000, 1));
    let o = download(&server, &to, &["--voices-from", "onnx-community"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("resuming (attempt 2 of 3)"), "{out}");
    assert_eq!(server.requests("af_heart.bin"), vec![None, Some("bytes=100000-".to_string())]);
    assert!(server.requests(INT8).is_empty());
    assert!(out.contains("voices/af_heart.bin: 522.2 kB, sha256 verified"), "{out}");
    for name in ["af_heart", "jf_alpha", "zm_yunyang"] {
        let rel = format!("voices/{name}.bin");
        assert!(same_bytes(&to.join(&rel), &model_dir().join(&rel)), "{rel}");
    }
    assert_eq!(std::fs::read_dir(to.join("voices")).unwrap().count(), 54);
    assert!(leftovers(&to).is_empty());
}

#[test]
fn an_interrupted_run_is_resumed_by_the_next_one() {
    let server = Server::start();
    let to = scratch("rerun");
    let path = format!("{RELEASE}/{INT8}");
    let mb = 10 << 20;
    server.faults.lock().unwrap().cut.insert(path.clone(), (mb, 3));
    let o = download(&server, &to, &[]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("gave up after 3 attempts") && out.contains("resumes from there"), "{out}");
    assert!(!to.join(INT8).exists(), "no final file after a failed download");
    let part = to.join(format!("{INT8}.part"));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 3 * mb as u64);
    let want = vec![None, Some(format!("bytes={mb}-")), Some(format!("bytes={}-", 2 * mb))];
    assert_eq!(server.requests(INT8), want);

    // The next run asks for the rest.
    let o = download(&server, &to, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(server.requests(INT8).last().unwrap(), &Some(format!("bytes={}-", 3 * mb)));
    assert!(same_bytes(&to.join(INT8), &model_dir().join(INT8)));

    // A server that answers a resume with the whole file (200) restarts the file from byte 0.
    let again = scratch("rerun-200");
    std::fs::write(again.join(format!("{INT8}.part")), vec![0u8; 1000]).unwrap();
    server.faults.lock().unwrap().ignore_range = true;
    let o = download(&server, &again, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(server.requests(INT8).last().unwrap(), &Some("bytes=1000-".to_string()));
    assert!(same_bytes(&again.join(INT8), &model_dir().join(INT8)));
    assert!(leftovers(&again).is_empty());
}

#[test]
fn a_corrupted_file_fails_its_checksum_and_leaves_nothing() {
    let server = Server::start();
    let to = scratch("corrupt");
    server.faults.lock().unwrap().corrupt.push(format!("{RELEASE}/{INT8}"));
    let o = download(&server, &to, &[]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("checksum mismatch") && out.contains("was deleted and nothing was installed"), "{out}");
    assert!(!to.join(INT8).exists());
    assert!(leftovers(&to).is_empty(), "{:?}", leftovers(&to));

    // A present file that fails its check is an error, not silently kept or replaced.
    std::fs::write(to.join(INT8), b"not the model").unwrap();
    let o = download(&server, &to, &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("does not pass its check") && text(&o).contains("--force"), "{}", text(&o));
}

#[test]
fn unreachable_hosts_missing_files_and_bad_folders_are_clear_errors() {
    let to = scratch("errors");
    let o = warble(&["download", "--to", to.to_str().unwrap(), "--mirror", "http://127.0.0.1:1"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot reach 127.0.0.1:1") && text(&o).contains("--mirror"), "{}", text(&o));
    assert!(leftovers(&to).is_empty());
    // A host name that does not resolve (`.invalid` never does): what a machine without a network sees.
    let o = warble(&["download", "--to", to.to_str().unwrap(), "--mirror", "http://warble-test.invalid"], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot reach warble-test.invalid") && text(&o).contains("--mirror"), "{}", text(&o));
    assert!(leftovers(&to).is_empty());

    let server = Server::start();
    let o = download(&server, &to, &["--source", "hf"]);
    let url = format!("{}/hexgrad/Kokoro-82M/resolve/main/kokoro-v1_0.pth", server.base);
    assert!(text(&o).contains("HTTP 404 Not Found") && text(&o).contains(&url), "{}", text(&o));

    let o = warble(&["download", "--to", to.to_str().unwrap(), "--mirror", "ftp://example.org"], &[]);
    assert!(text(&o).contains("not an http:// or https:// URL"), "{}", text(&o));
    let o = download(&server, &to, &["--sha256", "voices-v1.0.bin=abc"]);
    assert!(text(&o).contains("not a sha256"), "{}", text(&o));

    // A folder with another source's weights would leave Warble two files to choose from.
    std::fs::write(to.join("kokoro-v1_0.pth"), b"x").unwrap();
    let o = download(&server, &to, &[]);
    assert!(text(&o).contains("already holds weights (kokoro-v1_0.pth)"), "{}", text(&o));

    let file = to.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let o = download(&server, &file, &[]);
    assert!(text(&o).contains("is a file, not a folder"), "{}", text(&o));
    assert!(server.requests(INT8).is_empty());
}
