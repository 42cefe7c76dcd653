//! One file over HTTP: received into `<name>.part` (resumed with a `Range` request after an interruption),
//! verified, and only then renamed into place, so a final name never holds a partial or unverified file.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::catalog::Content;

/// What a file is checked against.
pub struct Expect {
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub content: Content,
}

/// A file that passed its checks.
pub struct Checked {
    pub bytes: u64,
    pub sha256: String,
    pub digest_pinned: bool,
    pub size_pinned: bool,
}

/// Attempts per file in one run: a connection lost mid-transfer is resumed this many times before giving up.
const ATTEMPTS: u32 = 3;

/// Why one attempt failed: worth resuming at once, or not.
enum Failure {
    Retry(anyhow::Error),
    Fatal(anyhow::Error),
}

pub struct Fetcher {
    agent: ureq::Agent,
    bars: bool,
}

impl Fetcher {
    pub fn new(bars: bool) -> Self {
        let agent = ureq::Agent::config_builder()
            // Statuses are answered here (206 vs 200, 404 with its URL), not turned into bare errors.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            // A stalled transfer fails and is resumed instead of hanging for ever.
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("warble/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent, bars }
    }

    /// Downloads `url` to `dest` through `dest.part`, verifies it and renames it into place.
    pub fn fetch(&self, url: &str, dest: &Path, expect: &Expect, label: &str) -> Result<Checked> {
        let part = part_path(dest);
        let mut attempt = 1;
        loop {
            match self.transfer(url, &part, expect, label) {
                Ok(()) => break,
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(e)) if attempt < ATTEMPTS => {
                    attempt += 1;
                    eprintln!("warble: {label}: {e:#}; resuming (attempt {attempt} of {ATTEMPTS})");
                    std::thread::sleep(Duration::from_millis(300 * u64::from(attempt)));
                }
                Err(Failure::Retry(e)) => {
                    return Err(e.context(format!(
                        "{label}: gave up after {ATTEMPTS} attempts; what arrived is kept in {} and the next run \
                         resumes from there",
                        part.display()
                    )));
                }
            }
        }
        let checked = match check(&part, expect) {
            Ok(c) => c,
            Err(e) => {
                let removed = std::fs::remove_file(&part).is_ok();
                let what = if removed { "was deleted" } else { "could not be deleted" };
                bail!(
                    "{label}: {e:#}. The bad download ({}) {what} and nothing was installed; run the command \
                     again to download it afresh. If it fails again, {url} serves a different file (a stale \
                     mirror?); pass --sha256 {label}=HEX only if you trust that file",
                    part.display()
                );
            }
        };
        std::fs::rename(&part, dest).with_context(|| format!("moving {} into place", part.display()))?;
        // The rename is durable only once the folder itself is synced.
        if let Some(dir) = dest.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(checked)
    }

    /// One request: appends to the part file if the server resumes, restarts it if not.
    fn transfer(&self, url: &str, part: &Path, expect: &Expect, label: &str) -> Result<(), Failure> {
        let mut offset = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        if let Some(size) = expect.size {
            if offset == size {
                return Ok(());
            }
            if offset > size {
                offset = 0;
            }
        }
        let mut request = self.agent.get(url);
        if offset > 0 {
            request = request.header("Range", format!("bytes={offset}-"));
        }
        let response = request.call().map_err(|e| Failure::Fatal(request_error(e, url)))?;
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (append, total) = match status {
            206 if offset > 0 => match header("content-range").as_deref().and_then(content_range) {
                Some((start, total)) if start == offset => (true, total),
                _ => {
                    truncate(part);
                    return Err(Failure::Retry(anyhow!(
                        "the server answered the resume request from byte {offset} with another range; starting over"
                    )));
                }
            },
            200 => (false, header("content-length").and_then(|l| l.parse().ok())),
            // The part file is as long as (or longer than) the file: complete if exactly as long.
            416 if offset > 0 => {
                let total = header("content-range").and_then(|r| r.strip_prefix("bytes */")?.parse::<u64>().ok());
                if total == Some(offset) {
                    return Ok(());
                }
                truncate(part);
                return Err(Failure::Retry(anyhow!("the server cannot resume from byte {offset}; starting over")));
            }
            404 => {
                return Err(Failure::Fatal(anyhow!(
                    "{label}: HTTP 404 Not Found at {url}. The file is not at this address: a mirror must serve \
                     the same paths as the original host"
                )));
            }
            s if s >= 500 || s == 429 => return Err(Failure::Retry(anyhow!("HTTP {s} from {url}"))),
            s => return Err(Failure::Fatal(anyhow!("{label}: HTTP {s} from {url}"))),
        };
        if let (Some(total), Some(size)) = (total, expect.size)
            && total != size
        {
            return Err(Failure::Fatal(anyhow!(
                "{label}: {url} offers {total} bytes, but the published file has {size}: it is another file \
                 (check --mirror); nothing was downloaded"
            )));
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(part)
            .map_err(|e| Failure::Fatal(write_error(e, part)))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut got = if append { offset } else { 0 };
        let bar = self.bar(label, total);
        bar.set_position(got);
        let mut body = response.into_body().into_reader();
        let mut buf = vec![0u8; 256 * 1024];
        let lost = loop {
            match body.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    out.write_all(&buf[..n]).map_err(|e| Failure::Fatal(write_error(e, part)))?;
                    got += n as u64;
                    bar.set_position(got);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Some(e),
            }
        };
        bar.finish_and_clear();
        // What arrived is kept (flushed) even when the connection was lost: the next attempt resumes after it.
        out.flush().map_err(|e| Failure::Fatal(write_error(e, part)))?;
        out.get_ref().sync_all().map_err(|e| Failure::Fatal(write_error(e, part)))?;
        if let Some(e) = lost {
            return Err(Failure::Retry(anyhow!("connection lost after {} ({e})", human(got))));
        }
        match total {
            Some(t) if got < t => Err(Failure::Retry(anyhow!("connection closed after {got} of {t} bytes"))),
            _ => Ok(()),
        }
    }

    fn bar(&self, label: &str, total: Option<u64>) -> ProgressBar {
        if !self.bars {
            return ProgressBar::hidden();
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t).with_style(
                ProgressStyle::with_template(
                    "{msg:24!} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {eta:>4}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}

/// Checks a complete file: size, digest and content, as far as each is known.
pub fn check(path: &Path, expect: &Expect) -> Result<Checked> {
    let mut file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    let sha256: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if let Some(size) = expect.size
        && bytes != size
    {
        bail!("size mismatch: {bytes} bytes, the published file has {size}");
    }
    if let Some(want) = &expect.sha256
        && *want != sha256
    {
        bail!("checksum mismatch: sha256 {sha256}, expected {want}");
    }
    expect.content.check(path)?;
    Ok(Checked { bytes, sha256, digest_pinned: expect.sha256.is_some(), size_pinned: expect.size.is_some() })
}

pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

fn truncate(part: &Path) {
    let _ = std::fs::remove_file(part);
}

/// `bytes START-END/TOTAL` → (START, TOTAL if known).
fn content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let (range, total) = v.strip_prefix("bytes ")?.split_once('/')?;
    let start = range.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

fn request_error(e: ureq::Error, url: &str) -> anyhow::Error {
    let host = url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or(url);
    let unreachable = match &e {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => {
            matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::TimedOut
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
            )
            // A name that does not resolve (no network, no DNS): std reports it without an error kind of its own.
            || io.to_string().contains("lookup address")
        }
        _ => false,
    };
    if unreachable {
        anyhow!(
            "cannot reach {host} ({e}) for {url}. Check the network connection, or download through a mirror: \
             --mirror URL or WARBLE_MIRROR=URL (for Hugging Face files HF_ENDPOINT works too)"
        )
    } else {
        anyhow!("downloading {url}: {e}")
    }
}

fn write_error(e: std::io::Error, part: &Path) -> anyhow::Error {
    let dir = part.parent().map(|d| d.display().to_string()).unwrap_or_default();
    match e.kind() {
        ErrorKind::StorageFull => anyhow!(
            "the disk is full writing {}: free some space (the download so far is kept and resumes), or choose \
             another folder with --to",
            part.display()
        ),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            anyhow!("cannot write into {dir} ({e}): choose a writable folder with --to DIR")
        }
        _ => anyhow!("writing {}: {e}", part.display()),
    }
}

pub fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000_000 => format!("{:.1} GB", b as f64 / 1e9),
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}
