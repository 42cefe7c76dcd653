//! The generator's forward STFT of the harmonic source, reproducing onnxruntime's `STFT` op bit for bit.
//!
//! Why not a plain DFT: in unvoiced stretches the source is constant, so bins 2..10 are zero up to rounding
//! and their phase (`atan(im/re)` ± π) is decided by the sign of rounding residues. The reference model was
//! run with onnxruntime, whose STFT for n_fft = 20 is a Bluestein chirp-z transform on a 64-point radix-2
//! FFT, and whose `Atan` is Eigen's rational approximation; a straightforward DFT disagrees on about a third
//! of the phase entries (by up to 2π), which moves the decoder's output by ~18 dB SNR. Replaying the same
//! float32 operations in the same order gives identical spectra (checked against onnxruntime 1.32 on every
//! golden case). Frames are independent, so they are split across threads.
//!
//! The tables are float32 bit patterns: twiddles `exp(-2πi·k/64)` and the chirp `exp(-πi·n²/20)` as glibc's
//! `cosf`/`sinf` give them for float arguments (a test recomputes them), and the periodic Hann window.

const N_FFT: usize = 20;
const HOP: usize = 5;
const BINS: usize = N_FFT / 2 + 1;
const M: usize = 64;
const PI: f32 = std::f32::consts::PI;

const TWIDDLE_RE: [u32; 64] = [
    0x3f800000, 0xbf800000, 0xb33bbd2e, 0x324cde2e, 0x3f3504f3, 0xbf3504f1, 0xbf3504f3, 0x3f3504f7, 0x3f6c835e,
    0xbf6c835e, 0xbec3ef18, 0x3ec3ef1b, 0x3ec3ef15, 0xbec3ef0b, 0xbf6c8360, 0x3f6c835f, 0x3f7b14be, 0xbf7b14be,
    0xbe47c5c2, 0x3e47c5c8, 0x3f0e39d9, 0xbf0e39d6, 0xbf54db32, 0x3f54db31, 0x3f54db31, 0xbf54db30, 0xbf0e39dc,
    0x3f0e39dd, 0x3e47c5bc, 0xbe47c5c6, 0xbf7b14bf, 0x3f7b14bf, 0x3f7ec46d, 0xbf7ec46d, 0xbdc8bd41, 0x3dc8bd5d,
    0x3f226799, 0xbf22679a, 0xbf45e404, 0x3f45e405, 0x3f61c597, 0xbf61c597, 0xbef15aed, 0x3ef15ae9, 0x3e94a030,
    0xbe94a02d, 0xbf74fa0b, 0x3f74fa0c, 0x3f74fa0b, 0xbf74fa0a, 0xbe94a033, 0x3e94a03d, 0x3ef15ae7, 0xbef15ae8,
    0xbf61c599, 0x3f61c599, 0x3f45e403, 0xbf45e402, 0xbf226799, 0x3f22679a, 0x3dc8bd35, 0xbdc8bd1a, 0xbf7ec46d,
    0x3f7ec46e,
];
const TWIDDLE_IM: [u32; 64] = [
    0x80000000, 0x33bbbd2e, 0xbf800000, 0x3f800000, 0xbf3504f3, 0x3f3504f5, 0xbf3504f3, 0x3f3504ef, 0xbec3ef16,
    0x3ec3ef15, 0xbf6c835e, 0x3f6c835d, 0xbf6c835e, 0x3f6c8361, 0xbec3ef10, 0x3ec3ef15, 0xbe47c5c2, 0x3e47c5cd,
    0xbf7b14be, 0x3f7b14be, 0xbf54db32, 0x3f54db34, 0xbf0e39d9, 0x3f0e39db, 0xbf0e39da, 0x3f0e39db, 0xbf54db30,
    0x3f54db2f, 0xbf7b14bf, 0x3f7b14be, 0xbe47c5c1, 0x3e47c5bc, 0xbdc8bd36, 0x3dc8bd47, 0xbf7ec46d, 0x3f7ec46d,
    0xbf45e403, 0x3f45e403, 0xbf226799, 0x3f226797, 0xbef15aea, 0x3ef15aeb, 0xbf61c597, 0x3f61c598, 0xbf74fa0b,
    0x3f74fa0b, 0xbe94a033, 0x3e94a028, 0xbe94a032, 0x3e94a038, 0xbf74fa0a, 0x3f74fa09, 0xbf61c598, 0x3f61c598,
    0xbef15ae6, 0x3ef15ae3, 0xbf22679a, 0x3f22679b, 0xbf45e404, 0x3f45e403, 0xbf7ec46d, 0x3f7ec46d, 0xbdc8bd30,
    0x3dc8bd04,
];
const CHIRP_RE: [u32; 20] = [
    0x3f800000, 0x3f7cd925, 0x3f4f1bbd, 0x3e20305d, 0xbf4f1bbe, 0xbf3504f1, 0x3f4f1bbc, 0x3e203049, 0xbf4f1bba,
    0x3f7cd924, 0xbf800000, 0x3f7cd91f, 0xbf4f1bc0, 0x3e203007, 0x3f4f1bc8, 0xbf3504e7, 0xbf4f1bc8, 0x3e202f07,
    0x3f4f1bad, 0x3f7cd91f,
];
const CHIRP_IM: [u32; 20] = [
    0x80000000, 0xbe20305c, 0xbf167918, 0xbf7cd925, 0xbf167917, 0x3f3504f5, 0x3f167919, 0xbf7cd925, 0x3f16791c,
    0xbe203077, 0x3535563d, 0xbe2030e1, 0x3f167914, 0xbf7cd928, 0x3f167909, 0x3f350500, 0xbf167909, 0xbf7cd932,
    0xbf16792f, 0xbe2030e7,
];
const WINDOW: [u32; 20] = [
    0x00000000, 0x3cc878f6, 0x3dc3910d, 0x3e530dd0, 0x3eb0e443, 0x3f000000, 0x3f278dde, 0x3f4b3c8c, 0x3f678dde,
    0x3f79bc38, 0x3f800000, 0x3f79bc38, 0x3f678dde, 0x3f4b3c8c, 0x3f278dde, 0x3f000000, 0x3eb0e443, 0x3e530dd0,
    0x3dc3910d, 0x3cc878f6,
];

#[derive(Clone, Copy, Debug, PartialEq)]
struct C {
    re: f32,
    im: f32,
}

impl C {
    const ONE: C = C { re: 1.0, im: 0.0 };

    fn mul(self, o: C) -> C {
        C { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
    }

    fn add(self, o: C) -> C {
        C { re: self.re + o.re, im: self.im + o.im }
    }
}

fn table(re: &[u32], im: &[u32]) -> Vec<C> {
    re.iter().zip(im).map(|(&r, &i)| C { re: f32::from_bits(r), im: f32::from_bits(i) }).collect()
}

fn bitrev(x: usize, bits: u32) -> usize {
    if bits == 0 { 0 } else { x.reverse_bits() >> (usize::BITS - bits) }
}

struct Tables {
    twiddle: Vec<C>,
    chirp: Vec<C>,
    window: Vec<f32>,
    kernel_fft: Vec<C>,
}

fn tables() -> &'static Tables {
    static T: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let twiddle = table(&TWIDDLE_RE, &TWIDDLE_IM);
        let chirp = table(&CHIRP_RE, &CHIRP_IM);
        let window = WINDOW.iter().map(|&b| f32::from_bits(b)).collect();
        // The Bluestein kernel: conj(chirp) mirrored around 0, zero in the middle.
        let mut b = [C { re: 0.0, im: 0.0 }; M];
        for n in 0..N_FFT {
            b[n] = C { re: chirp[n].re, im: -chirp[n].im };
        }
        for n in M - N_FFT + 1..M {
            b[n] = b[M - n];
        }
        let kernel_fft = fft64(&b, false, &twiddle).to_vec();
        Tables { twiddle, chirp, window, kernel_fft }
    })
}

/// onnxruntime's radix-2 FFT of size 64, including its reuse of the forward twiddles for the inverse.
fn fft64(x: &[C; M], inverse: bool, twiddle: &[C]) -> [C; M] {
    let mut y = [C { re: 0.0, im: 0.0 }; M];
    for (i, v) in y.iter_mut().enumerate() {
        *v = C::ONE.mul(x[bitrev(i, 6)]).mul(C::ONE);
    }
    let mut size = 2;
    let mut bits = 0;
    while size <= M {
        let mid = size / 2;
        bits += 1;
        for k in 0..mid {
            let first = twiddle[bitrev(k, bits)];
            let second = twiddle[bitrev(mid + k, bits)];
            let mut j = 0;
            while j < M {
                let even = y[k + j];
                let odd = y[k + j + mid];
                y[k + j] = even.add(first.mul(odd));
                y[k + j + mid] = even.add(second.mul(odd));
                j += size;
            }
        }
        size <<= 1;
    }
    if inverse {
        for v in y.iter_mut() {
            v.re /= M as f32;
            v.im /= M as f32;
        }
    }
    y
}

/// One frame's 11 one-sided bins, Bluestein style.
fn frame_spectrum(frame: &[f32], t: &Tables) -> [C; BINS] {
    let mut a = [C { re: 0.0, im: 0.0 }; M];
    for n in 0..N_FFT {
        let x = C { re: frame[n] * t.window[n], im: 0.0 * t.window[n] };
        a[n] = x.mul(t.chirp[n]);
    }
    let mut spec = fft64(&a, false, &t.twiddle);
    for (s, k) in spec.iter_mut().zip(&t.kernel_fft) {
        *s = s.mul(*k);
    }
    let c = fft64(&spec, true, &t.twiddle);
    let mut out = [C { re: 0.0, im: 0.0 }; BINS];
    for (i, o) in out.iter_mut().enumerate() {
        let ci = if i == 0 { c[0] } else { c[M - i] };
        *o = ci.mul(t.chirp[i]).mul(C::ONE);
    }
    out
}

/// Eigen's float `atan` (SSE path: separate multiply and add, true division).
fn eigen_atan(x: f32) -> f32 {
    const A: [f32; 3] = [f32::from_bits(0x3de56e67), f32::from_bits(0x3f3acba0), f32::from_bits(0x3f4f9d60)];
    const B: [f32; 4] = [
        f32::from_bits(0x3c2557b4),
        f32::from_bits(0x3e90fdb4),
        f32::from_bits(0x3f800000),
        f32::from_bits(0x3f4f9d60),
    ];
    let ax = x.abs();
    let large = 1.0 < ax;
    let t = if large { 1.0 / ax } else { ax };
    let t2 = t * t;
    let p = (A[0] * t2 + A[1]) * t2 + A[2];
    let q = ((B[0] * t2 + B[1]) * t2 + B[2]) * t2 + B[3];
    let mut r = t * (p / q);
    if large {
        r = std::f32::consts::FRAC_PI_2 - r;
    }
    f32::from_bits(r.to_bits() ^ (x.to_bits() & 0x8000_0000))
}

/// `signal [L]` → `(magnitude, phase)`, each bin-major `[11, L/5 + 1]`: centre reflect padding, periodic
/// Hann window, onesided, magnitude `sqrt(re² + im²)`, phase `atan(im/re)` moved by ±π when `re < 0`.
pub fn source_stft(signal: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let len = signal.len();
    if len <= N_FFT / 2 {
        // Too short to reflect-pad (never for real F0 curves, which give 600 samples a frame).
        return (vec![0.0; BINS], vec![0.0; BINS]);
    }
    source_stft_columns(signal, 0, len, 0..stft_frames(len))
}

/// Columns of [`source_stft`] for a signal of `len` samples.
pub fn stft_frames(len: usize) -> usize {
    len / HOP + 1
}

/// The samples columns `cols` of [`source_stft`] read, for a signal of `len` samples: what `part` must hold.
pub fn columns_need(len: usize, cols: &std::ops::Range<usize>) -> std::ops::Range<usize> {
    let pad = N_FFT / 2;
    // Signal indices `c·HOP − pad ..= c·HOP + pad − 1` for each column, reflected into the signal at the ends.
    let first = cols.start as isize * HOP as isize - pad as isize;
    let last = (cols.end.max(cols.start + 1) - 1) as isize * HOP as isize + pad as isize - 1;
    let end = len as isize - 1;
    let mut lo = first.max(0);
    let mut hi = last.min(end);
    if first < 0 {
        hi = hi.max(-first);
    }
    if last > end {
        lo = lo.min(2 * end - last);
    }
    lo.clamp(0, len as isize) as usize..(hi + 1).clamp(0, len as isize) as usize
}

/// Columns `cols` of [`source_stft`] of a `len`-sample signal, bit-identical to those columns of the whole,
/// from `part`, its samples `offset..offset + part.len()` (at least [`columns_need`]; the reflections at either
/// end fall inside that range). Each output is bin-major `[11, cols.len()]`.
pub fn source_stft_columns(
    part: &[f32],
    offset: usize,
    len: usize,
    cols: std::ops::Range<usize>,
) -> (Vec<f32>, Vec<f32>) {
    let pad = N_FFT / 2;
    let frames_total = stft_frames(len);
    let cols = cols.start.min(frames_total)..cols.end.min(frames_total);
    let frames = cols.len();
    // Sample `i` of the centre-padded signal's frame `f` is signal index `f·HOP + i − pad`, reflected at the ends.
    let sample = |g: isize| -> f32 {
        let g = if g < 0 {
            -g
        } else if g >= len as isize {
            2 * (len as isize - 1) - g
        } else {
            g
        };
        part[g as usize - offset]
    };
    let t = tables();
    let mut spectra = vec![[C { re: 0.0, im: 0.0 }; BINS]; frames];
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let per = frames.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (ci, chunk) in spectra.chunks_mut(per).enumerate() {
            let sample = &sample;
            s.spawn(move || {
                let mut frame = [0f32; N_FFT];
                for (j, out) in chunk.iter_mut().enumerate() {
                    let f = cols.start + ci * per + j;
                    let first = (f * HOP) as isize - pad as isize;
                    for (i, v) in frame.iter_mut().enumerate() {
                        *v = sample(first + i as isize);
                    }
                    *out = frame_spectrum(&frame, t);
                }
            });
        }
    });
    let mut mag = vec![0f32; BINS * frames];
    let mut phase = vec![0f32; BINS * frames];
    // Eigen vectorises Atan over the whole signal's flat bin-major array in packets of 4 and leaves the
    // remainder to libm: the same global positions take libm here.
    let total = BINS * frames_total;
    let tail_start = total - total % 4;
    for k in 0..BINS {
        for (j, s) in spectra.iter().enumerate() {
            let idx = k * frames_total + cols.start + j;
            let C { re, im } = s[k];
            mag[k * frames + j] = (re * re + im * im).sqrt();
            let d = im / re;
            let at = if idx >= tail_start { d.atan() } else { eigen_atan(d) };
            phase[k * frames + j] = if re < 0.0 { if im > 0.0 { at + PI } else { at - PI } } else { at };
        }
    }
    (mag, phase)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERNEL_FFT_RE: [u32; 64] = [
        0x40aa62a2, 0x4016bd8d, 0x3fd672fc, 0x40bc8d31, 0x4085a63b, 0x3f77cc50, 0x40bb21f7, 0x40f2d3c0, 0x3f7fffba,
        0x3fdb364e, 0x4102ed9f, 0x404a0bd3, 0xc0a41b40, 0xbf4be2b8, 0x404f3fb6, 0xc09dba35, 0xc11f1bbe, 0xc04eb345,
        0x400dfa97, 0x3f5a8008, 0xbe8d9da8, 0x3fc4a5b2, 0x409f4122, 0x40d707d8, 0x3f80001e, 0xc1024111, 0xc108914a,
        0xbf1662dd, 0x40a74ed3, 0x40c427d9, 0x4055c3d4, 0xc04eae60, 0xc0ea62ad, 0xc04eae5d, 0x4055c3cb, 0x40c427d7,
        0x40a74ed5, 0xbf1662c4, 0xc1089148, 0xc1024112, 0x3f80001e, 0x40d707d9, 0x409f4121, 0x3fc4a5ae, 0xbe8d9d70,
        0x3f5a8034, 0x400dfa94, 0xc04eb348, 0xc11f1bbe, 0xc09dba34, 0x404f3fb4, 0xbf4be2d6, 0xc0a41b46, 0x404a0bcc,
        0x4102ed9d, 0x3fdb3646, 0x3f7fffae, 0x40f2d3bc, 0x40bb21f8, 0x3f77cc34, 0x4085a63c, 0x40bc8d32, 0x3fd672fb,
        0x4016bd92,
    ];
    const KERNEL_FFT_IM: [u32; 64] = [
        0x40ca62d8, 0x401ff914, 0xbc809880, 0x408f2f30, 0x40985355, 0xbf822536, 0xbf2d61aa, 0x406a8d4f, 0xb7086d78,
        0xc0bfaba4, 0xc04a38fc, 0x3ecb222a, 0xc099e493, 0xc10da072, 0xc045ca48, 0x40238fc5, 0xb692e1a0, 0xc0184868,
        0x4032aeee, 0x4108f5fc, 0x40c5f70e, 0xbfc11797, 0xc0b2d3a1, 0xc0549cda, 0x36325dea, 0xbe645378, 0xbff6a6f0,
        0xbf30b4d0, 0x405118a1, 0x40a9267e, 0x4010c48a, 0xc05d2e8a, 0xc0ca62d2, 0xc05d2e8e, 0x4010c48a, 0x40a92680,
        0x405118aa, 0xbf30b4e4, 0xbff6a705, 0xbe645280, 0x361bbd4a, 0xc0549cd4, 0xc0b2d3a1, 0xbfc1178e, 0x40c5f70c,
        0x4108f5fc, 0x4032aef2, 0xc0184861, 0xb6a2e1a0, 0x40238fc7, 0xc045ca48, 0xc10da074, 0xc099e490, 0x3ecb222a,
        0xc04a3902, 0xc0bfaba7, 0xb70e159e, 0x406a8d50, 0xbf2d61a8, 0xbf82254a, 0x40985353, 0x408f2f2e, 0xbc809a40,
        0x401ff909,
    ];

    #[test]
    fn fft_of_the_kernel_matches_onnxruntimes_bits() {
        let t = tables();
        let want = table(&KERNEL_FFT_RE, &KERNEL_FFT_IM);
        for (g, w) in t.kernel_fft.iter().zip(&want) {
            assert_eq!((g.re.to_bits(), g.im.to_bits()), (w.re.to_bits(), w.im.to_bits()));
        }
    }

    #[test]
    fn tables_are_the_float_twiddles_and_chirp() {
        // The tables came from cosf/sinf of float arguments; check the derivation against this platform's libm,
        // allowing one ulp where a libm rounds differently.
        let angvel = -(2.0 * PI) / M as f32;
        let t = tables();
        let ulp = |a: f32, b: f32| (a.to_bits() as i64 - b.to_bits() as i64).abs() <= 1 || a == b;
        for i in 0..M {
            let a = std::hint::black_box(i as f32 * angvel);
            let v = t.twiddle[bitrev(i, 6)];
            assert!(ulp(v.re, a.cos()) && ulp(v.im, a.sin()), "twiddle {i}");
        }
        for n in 0..N_FFT {
            let e = std::hint::black_box(((-PI * n as f32) * n as f32) / N_FFT as f32);
            assert!(ulp(t.chirp[n].re, e.cos()) && ulp(t.chirp[n].im, e.sin()), "chirp {n}");
        }
    }

    #[test]
    fn matches_a_plain_dft_where_the_spectrum_is_well_conditioned() {
        let signal: Vec<f32> =
            (0..600).map(|i| (i as f32 * 0.05).sin() * 0.3 + (i as f32 * 0.31).cos() * 0.1).collect();
        let (mag, phase) = source_stft(&signal);
        let frames = 600 / HOP + 1;
        assert_eq!(mag.len(), BINS * frames);
        let mut padded: Vec<f64> = (1..=10).rev().map(|i| signal[i] as f64).collect();
        padded.extend(signal.iter().map(|&v| v as f64));
        padded.extend((1..=10).map(|i| signal[599 - i] as f64));
        let w: Vec<f64> =
            (0..N_FFT).map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / 20.0).cos()).collect();
        for f in [3usize, 40, 100] {
            for k in 0..BINS {
                let (mut re, mut im) = (0.0, 0.0);
                for n in 0..N_FFT {
                    let a = -2.0 * std::f64::consts::PI * (k * n) as f64 / 20.0;
                    re += padded[f * HOP + n] * w[n] * a.cos();
                    im += padded[f * HOP + n] * w[n] * a.sin();
                }
                let m = (re * re + im * im).sqrt();
                assert!((mag[k * frames + f] as f64 - m).abs() < 1e-4, "mag f{f} k{k}");
                if m > 1e-3 {
                    let p = im.atan2(re);
                    let d = (phase[k * frames + f] as f64 - p).abs();
                    assert!(d < 1e-3 || (d - 2.0 * std::f64::consts::PI).abs() < 1e-3, "phase f{f} k{k}");
                }
            }
        }
    }

    #[test]
    fn any_columns_equal_those_of_the_whole_from_the_samples_they_need() {
        // 1203 samples: 241 columns, 2651 values, so the last three of the last bin take libm's atan.
        let signal: Vec<f32> =
            (0..1203).map(|i| ((i as f32 * 0.07).sin() * 0.4 + (i % 7) as f32 * 0.01).tanh()).collect();
        let (mag, phase) = source_stft(&signal);
        let total = stft_frames(signal.len());
        for cols in [0..1, 0..17, 5..9, 100..241, 239..241, 120..121] {
            let need = columns_need(signal.len(), &cols);
            let (m, p) = source_stft_columns(&signal[need.clone()], need.start, signal.len(), cols.clone());
            for k in 0..BINS {
                let whole = k * total + cols.start..k * total + cols.end;
                let part = k * cols.len()..(k + 1) * cols.len();
                assert_eq!(m[part.clone()], mag[whole.clone()], "magnitude bin {k}, columns {cols:?}");
                assert_eq!(p[part], phase[whole], "phase bin {k}, columns {cols:?}");
            }
        }
    }

    #[test]
    fn eigen_atan_is_close_to_atan() {
        for i in -2000..2000 {
            let x = i as f32 * 0.01;
            assert!((eigen_atan(x) - x.atan()).abs() < 1e-6, "{x}");
        }
    }
}
