//! The INT8 convolution of the generator's residual stacks (Kokoro's hot path: ~170 GMAC of its ~190 for a
//! 7-second sentence).
//!
//! `y[o][t] = bias[o] + Σ_c Σ_k w[o][c][k] · x[c][t + k·d − pad]` with
//! * weights symmetric INT8 per output channel: `w ≈ w_scale[o] · qw[o][c][k]`, `qw ∈ −127..=127`;
//! * activations asymmetric UINT8 per call (one scale and zero point for the whole `[C, T]` input, taken from
//!   its range at run time, so no calibration): `x ≈ x_scale · (qx − zero)`, `qx ∈ 0..=255`, the padding
//!   stored as `zero` (an exact 0);
//! * the sum in exact `i32`: `y[o][t] = x_scale · w_scale[o] · (Σ qw·qx − zero · Σ qw) + bias[o]`.
//!
//! Two kernels with bit-identical results (the integer sums are exact and the float epilogue is the same
//! fused multiply-add): AVX-512 VNNI (`vpdpbusd`: 64 u8×i8 products per instruction, four times the f32 FMA's
//! 16) where the CPU has it, and a portable integer kernel elsewhere. The layout follows the f32 direct kernel
//! of `warble-vocoder` (`host.rs`): a 4-channel × 96-sample output block stays in 24 registers for the whole
//! reduction; the input is stored four channels interleaved per time step (`[C/4][T][4]` bytes), exactly the
//! four bytes `vpdpbusd` multiplies into one 32-bit lane, so a tap is 6 loads, 4 broadcasts and 24 dot
//! products.

use rayon::prelude::*;

/// Output samples one kernel call computes per output channel (6 vectors of 16 lanes).
const TILE_T: usize = 96;
/// Output channels one kernel call computes, and input channels one 32-bit lane holds.
const GROUP: usize = 4;
/// Parallel jobs a convolution is cut into at least (time tiles × channel-group splits).
const MIN_JOBS: usize = 16;

/// Which integer kernel runs a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// AVX-512 VNNI (`vpdpbusd` on 512-bit vectors).
    Avx512Vnni,
    /// AVX-VNNI (the VEX `vpdpbusd` on 256-bit vectors): Intel CPUs without AVX-512 (Alder Lake and later
    /// laptops and desktops), AMD Zen 5.
    AvxVnni,
    /// Plain Rust integer loops: any CPU, the same results.
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if Kernel::Avx512Vnni.is_available() {
            return Kernel::Avx512Vnni;
        }
        if Kernel::AvxVnni.is_available() {
            return Kernel::AvxVnni;
        }
        Kernel::Portable
    }

    /// Whether this CPU has a SIMD integer kernel. Without one, INT8 convolutions run the portable loops at
    /// ~8 G multiply-adds/s, slower than the f32 kernels: callers then compute in f32 instead.
    pub fn simd_available() -> bool {
        Kernel::detect() != Kernel::Portable
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return match self {
            Kernel::Portable => true,
            Kernel::Avx512Vnni => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vnni")
            }
            Kernel::AvxVnni => {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                    && std::is_x86_feature_detected!("avxvnni")
            }
        };
        #[cfg(not(target_arch = "x86_64"))]
        return self == Kernel::Portable;
    }
}

/// Scale classes of [`QuantizedRows`]: class `b` quantizes in steps of `R / 255 / 2^b` (`R` = the widest range
/// of any channel group in the tile), so a group whose range is an eighth of the widest gets 8× finer steps.
pub const CLASSES: usize = 4;

/// A `[C, T]` signal quantized to UINT8 for one convolution, tile by tile: for each output tile of 96 samples,
/// the input columns it reads (the tile and a halo of `dilation·(K−1)/2` on each side, zeros outside the
/// signal) are quantized on their own, stored `[tile][⌈C/4⌉][96 + 2·halo][4]`: four channels interleaved per
/// column (one group), missing channels of the last group at the zero point.
///
/// One scale for a whole signal wastes most of the 256 levels twice over. Across channels: the residual
/// stacks' inputs (Snake outputs) have channels whose ranges differ a hundredfold (median ~10, widest ~40–130,
/// narrowest < 1), so each group of four channels gets the finest of [`CLASSES`] power-of-two scales its range
/// fits in, and its own zero point; the convolution sums each class in exact integers and turns it into floats
/// once per class. Across time: speech is loud and quiet, and a quiet stretch quantized with the loud
/// stretches' step loses most of its detail (the log spectrum weighs quiet frames like loud ones), so the
/// scales are per tile (~4 ms at the generator's last stage), which costs re-quantizing the halo columns.
#[derive(Debug, Default, Clone)]
pub struct QuantizedRows {
    /// `[tile][group][span]`.
    data: Vec<u32>,
    channels: usize,
    t: usize,
    halo: usize,
    /// Columns stored per tile and group: `TILE_T + 2·halo`.
    span: usize,
    groups: usize,
    tiles: Vec<TileScales>,
}

/// The quantization of one tile's input.
#[derive(Debug, Default, Clone)]
struct TileScales {
    /// Step of each class.
    class_scale: [f32; CLASSES],
    /// The groups ordered by class, and where each class starts in that order.
    order: Vec<u32>,
    class_start: [usize; CLASSES + 1],
    /// Per group: its class and zero point.
    class: Vec<u8>,
    zero: Vec<u8>,
}

impl QuantizedRows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Quantizes `x [channels, t]`, given row by row (`row(c)` is channel `c`'s `t` samples), for a
    /// convolution whose taps reach `halo` columns on each side (`dilation·(K−1)/2`, [`Int8Conv::halo`]).
    /// Each group's range includes 0, so the padding (the zero point) is an exact 0.
    pub fn quantize<'a, F>(&mut self, channels: usize, t: usize, halo: usize, row: F)
    where
        F: Fn(usize) -> &'a [f32] + Sync,
    {
        let (groups, span) = self.reset(channels, t, halo);
        if groups == 0 {
            return;
        }
        self.data.par_chunks_mut(groups * span).zip(self.tiles.par_iter_mut()).enumerate().for_each(
            |(tile, (data, info))| {
                // Signal columns s0 + j for j in lo..hi are inside the signal; the rest of the span is padding.
                let s0 = (tile * TILE_T) as isize - halo as isize;
                let lo = (-s0).max(0) as usize;
                let hi = (t as isize - s0).clamp(0, span as isize) as usize;
                let cols = |c: usize| &row(c)[(s0 + lo as isize) as usize..(s0 + hi as isize) as usize];
                info.classify(&group_ranges(channels, |c| min_max(cols(c))));
                for (g, dst) in data.chunks_mut(span).enumerate() {
                    let zero = info.zero[g];
                    let (inv, zf) = (1.0 / info.class_scale[info.class[g] as usize], zero as f32);
                    let fill = u32::from_le_bytes([zero; 4]);
                    dst[..lo].fill(fill);
                    dst[hi..].fill(fill);
                    let dst = &mut dst[lo..hi];
                    let rows: [Option<&[f32]>; GROUP] = std::array::from_fn(|j| {
                        let c = g * GROUP + j;
                        (c < channels).then(|| cols(c))
                    });
                    match rows {
                        [Some(a), Some(b), Some(c), Some(d)] => pack4([a, b, c, d], dst, inv, zf),
                        _ => {
                            for (i, out) in dst.iter_mut().enumerate() {
                                *out = u32::from_le_bytes(std::array::from_fn(|j| {
                                    rows[j].map_or(zero, |r| quantize_one(r[i], inv, zf))
                                }));
                            }
                        }
                    }
                }
            },
        );
    }

    /// Quantizes `x [t, channels]` given token by token (a linear layer's input: row `i` holds token `i`'s
    /// features) for a 1-tap convolution (halo 0): the scales of [`QuantizedRows::quantize`] on its transpose,
    /// without transposing it — a token's four features of a group are already the four bytes of its word.
    pub fn quantize_tokens(&mut self, x: &[f32], t: usize, channels: usize) {
        assert_eq!(x.len(), t * channels, "token rows are not [{t}, {channels}]");
        let (groups, span) = self.reset(channels, t, 0);
        if groups == 0 {
            return;
        }
        self.data.par_chunks_mut(groups * span).zip(self.tiles.par_iter_mut()).enumerate().for_each(
            |(tile, (data, info))| {
                let rows = &x[tile * TILE_T * channels..((tile + 1) * TILE_T).min(t) * channels];
                let n = rows.len() / channels;
                // Each channel's range over the tile's tokens (both ends include 0), then each group's.
                let (mut lo, mut hi) = (vec![0.0f32; channels], vec![0.0f32; channels]);
                for row in rows.chunks_exact(channels) {
                    for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                        (*l, *h) = (l.min(v), h.max(v));
                    }
                }
                info.classify(&group_ranges(channels, |c| (lo[c], hi[c])));
                // Per channel: its group's inverse step and zero point; missing channels of the last group
                // stay at its zero point.
                let mut inv = vec![0.0f32; channels];
                let mut zero = vec![0.0f32; channels];
                for c in 0..channels {
                    let g = c / GROUP;
                    (inv[c], zero[c]) = (1.0 / info.class_scale[info.class[g] as usize], info.zero[g] as f32);
                }
                let mut bytes = vec![info.zero[groups - 1]; groups * GROUP];
                for (g, dst) in data.chunks_mut(span).enumerate() {
                    dst[n..].fill(u32::from_le_bytes([info.zero[g]; GROUP]));
                }
                for (i, row) in rows.chunks_exact(channels).enumerate() {
                    quantize_features(row, &inv, &zero, &mut bytes[..channels]);
                    for (g, word) in bytes.chunks_exact(GROUP).enumerate() {
                        data[g * span + i] = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                    }
                }
            },
        );
    }

    /// Sizes the buffers for `x [channels, t]` tiled with `halo` columns each side; returns the group count
    /// and the span of a tile's row.
    fn reset(&mut self, channels: usize, t: usize, halo: usize) -> (usize, usize) {
        let groups = channels.div_ceil(GROUP);
        let span = TILE_T + 2 * halo;
        let tiles = t.div_ceil(TILE_T);
        (self.channels, self.t, self.halo, self.span, self.groups) = (channels, t, halo, span, groups);
        self.data.resize(tiles * groups * span, 0);
        self.tiles.resize_with(tiles, TileScales::default);
        (groups, span)
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn len(&self) -> usize {
        self.t
    }

    pub fn is_empty(&self) -> bool {
        self.t == 0
    }

    /// `(scale, zero point)` of channel `c` in the tile of output column `out`: a stored byte `q` stands for
    /// `scale · (q − zero)`.
    pub fn quantization(&self, out: usize, c: usize) -> (f32, u8) {
        let info = &self.tiles[out / TILE_T];
        let g = c / GROUP;
        (info.class_scale[info.class[g] as usize], info.zero[g])
    }

    /// The value input column `s` of channel `c` has for output column `out` (tests, diagnostics): `s` must lie
    /// within the halo of `out`'s tile.
    pub fn dequantized(&self, out: usize, c: usize, s: usize) -> f32 {
        let tile = out / TILE_T;
        let j = (s + self.halo).checked_sub(tile * TILE_T).filter(|&j| j < self.span).expect("s outside the tile");
        let word = self.data[(tile * self.groups + c / GROUP) * self.span + j].to_le_bytes();
        let (scale, zero) = self.quantization(out, c);
        scale * (word[c % GROUP] as f32 - zero as f32)
    }
}

impl TileScales {
    /// Classes, zero points and the class order from each group's `(min, max)` (both including 0).
    fn classify(&mut self, ranges: &[(f32, f32)]) {
        let widest = ranges.iter().map(|(lo, hi)| hi - lo).fold(0.0f32, f32::max);
        // No usable range (all zeros, or an infinity): steps from 1.
        let top = if widest > 0.0 && widest.is_finite() { widest / 255.0 } else { 1.0 };
        self.class_scale = std::array::from_fn(|b| top / (1u32 << b) as f32);
        self.class.clear();
        self.zero.clear();
        let mut count = [0usize; CLASSES];
        for &(lo, hi) in ranges {
            let range = hi - lo;
            let mut b = 0;
            while b + 1 < CLASSES && range <= 255.0 * self.class_scale[b + 1] {
                b += 1;
            }
            let zero = if range.is_finite() { (-lo / self.class_scale[b]).round().clamp(0.0, 255.0) as u8 } else { 0 };
            self.class.push(b as u8);
            self.zero.push(zero);
            count[b] += 1;
        }
        self.class_start[0] = 0;
        for (b, n) in count.iter().enumerate() {
            self.class_start[b + 1] = self.class_start[b] + n;
        }
        let mut next = self.class_start;
        self.order.resize(ranges.len(), 0);
        for (g, &b) in self.class.iter().enumerate() {
            self.order[next[b as usize]] = g as u32;
            next[b as usize] += 1;
        }
    }

    fn groups_of(&self, b: usize) -> &[u32] {
        &self.order[self.class_start[b]..self.class_start[b + 1]]
    }
}

/// Each group's range (both ends include 0) from its channels' ranges.
fn group_ranges(channels: usize, range: impl Fn(usize) -> (f32, f32)) -> Vec<(f32, f32)> {
    (0..channels.div_ceil(GROUP))
        .map(|g| {
            (g * GROUP..(g * GROUP + GROUP).min(channels))
                .map(&range)
                .fold((0.0f32, 0.0f32), |a, b| (a.0.min(b.0), a.1.max(b.1)))
        })
        .collect()
}

/// `(min(0, min row), max(0, max row))`, picking the widest SIMD the CPU has.
fn min_max(row: &[f32]) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { min_max_avx512(row) };
    }
    min_max_portable(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn min_max_avx512(row: &[f32]) -> (f32, f32) {
    min_max_portable(row)
}

/// [`min_max`] in 16 independent lanes (so that it vectorises).
#[inline(always)]
fn min_max_portable(row: &[f32]) -> (f32, f32) {
    const LANES: usize = 16;
    let (mut lo, mut hi) = ([0.0f32; LANES], [0.0f32; LANES]);
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for i in 0..LANES {
            lo[i] = if chunk[i] < lo[i] { chunk[i] } else { lo[i] };
            hi[i] = if chunk[i] > hi[i] { chunk[i] } else { hi[i] };
        }
    }
    for (i, &v) in tail.iter().enumerate() {
        lo[i] = lo[i].min(v);
        hi[i] = hi[i].max(v);
    }
    let lo = lo.iter().fold(0.0f32, |a, &b| a.min(b));
    let hi = hi.iter().fold(0.0f32, |a, &b| a.max(b));
    // An infinity makes the range non-finite (`quantize` then falls back to scale 1); NaNs are skipped by the
    // comparisons and stored as 0.
    (lo, hi)
}

/// Quantizes 4 rows into interleaved words: `out[i] = bytes(q(a[i]), q(b[i]), q(c[i]), q(d[i]))` with
/// `q(v) = ⌊clamp(v·inv + zero, 0, 255) + ½⌋`.
fn pack4(rows: [&[f32]; GROUP], out: &mut [u32], inv: f32, zero: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { pack4_avx512(rows, out, inv, zero) };
    }
    pack4_portable(rows, out, inv, zero)
}

/// `out[c] = q(row[c])` with channel `c`'s own step and zero point (the rounding of [`quantize_one`] without
/// the fused multiply-add, so that it vectorises on any x86-64).
fn quantize_features(row: &[f32], inv: &[f32], zero: &[f32], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { quantize_features_avx512(row, inv, zero, out) };
    }
    quantize_features_portable(row, inv, zero, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn quantize_features_avx512(row: &[f32], inv: &[f32], zero: &[f32], out: &mut [u8]) {
    use std::arch::x86_64::*;
    let n = row.len().min(inv.len()).min(zero.len()).min(out.len());
    let body = n - n % 16;
    // SAFETY: every access lies below `body ≤` each slice's length.
    unsafe {
        let (lo, hi, half) = (_mm512_setzero_ps(), _mm512_set1_ps(255.0), _mm512_set1_ps(0.5));
        for i in (0..body).step_by(16) {
            let v = _mm512_loadu_ps(row.as_ptr().add(i));
            let q = _mm512_add_ps(
                _mm512_mul_ps(v, _mm512_loadu_ps(inv.as_ptr().add(i))),
                _mm512_loadu_ps(zero.as_ptr().add(i)),
            );
            let q = _mm512_add_ps(_mm512_min_ps(_mm512_max_ps(q, lo), hi), half);
            _mm_storeu_si128(out.as_mut_ptr().add(i) as *mut __m128i, _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(q)));
        }
    }
    quantize_features_portable(&row[body..n], &inv[body..n], &zero[body..n], &mut out[body..n])
}

#[inline(always)]
fn quantize_features_portable(row: &[f32], inv: &[f32], zero: &[f32], out: &mut [u8]) {
    for (((o, &v), &i), &z) in out.iter_mut().zip(row).zip(inv).zip(zero) {
        *o = ((v * i + z).clamp(0.0, 255.0) + 0.5) as u8;
    }
}

thread_local! {
    /// Each worker thread's zero-point totals for its current job (`[class][output channel]`), kept between jobs
    /// so that a call allocates nothing per job.
    static OFFSETS: std::cell::RefCell<Vec<i32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `acc += Σ zero · row` over `(zero, row)` pairs (rows as long as `acc`; wrapping), picking the widest SIMD the
/// CPU has.
fn zero_point_totals<'a, I>(acc: &mut [i32], rows: I)
where
    I: Iterator<Item = (i32, &'a [i16])> + Clone,
{
    assert!(rows.clone().all(|(_, r)| r.len() == acc.len()), "zero-point rows as long as the totals");
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
    {
        // SAFETY: the CPU has AVX-512F, BW and VL; every row is as long as `acc`.
        return unsafe { zero_point_totals_avx512(acc, rows) };
    }
    zero_point_totals_portable(acc, rows)
}

/// The totals 64 at a time in four registers while the rows stream past: accumulating in memory made every
/// row wait for the previous row's store (a store-to-load chain), which cost a third of ALBERT's INT8 time.
///
/// # Safety
/// The CPU must have AVX-512F, BW and VL; every row must be as long as `acc`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn zero_point_totals_avx512<'a>(acc: &mut [i32], rows: impl Iterator<Item = (i32, &'a [i16])> + Clone) {
    use std::arch::x86_64::{
        __m512i, __mmask16, _mm256_maskz_loadu_epi16, _mm512_add_epi32, _mm512_cvtepi16_epi32,
        _mm512_mask_storeu_epi32, _mm512_maskz_loadu_epi32, _mm512_mullo_epi32, _mm512_set1_epi32,
    };
    let n = acc.len();
    let mut start = 0;
    while start < n {
        let len = (n - start).min(64);
        let mask: [__mmask16; 4] = std::array::from_fn(|v| {
            let lanes = len.saturating_sub(16 * v).min(16);
            ((1u32 << lanes) - 1) as __mmask16
        });
        // SAFETY: masked lanes are `start + 16v + lane < n`, inside `acc` and each row (as long as `acc`);
        // masked-off lanes are neither read nor written.
        unsafe {
            let at = acc.as_mut_ptr().add(start);
            let mut sum: [__m512i; 4] = std::array::from_fn(|v| _mm512_maskz_loadu_epi32(mask[v], at.add(16 * v)));
            for (zero, row) in rows.clone() {
                let z = _mm512_set1_epi32(zero);
                let r = row.as_ptr().add(start);
                for (v, s) in sum.iter_mut().enumerate() {
                    let w = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(mask[v], r.add(16 * v)));
                    *s = _mm512_add_epi32(*s, _mm512_mullo_epi32(z, w));
                }
            }
            for (v, s) in sum.iter().enumerate() {
                _mm512_mask_storeu_epi32(at.add(16 * v), mask[v], *s);
            }
        }
        start += 64;
    }
}

fn zero_point_totals_portable<'a>(acc: &mut [i32], rows: impl Iterator<Item = (i32, &'a [i16])>) {
    for (zero, row) in rows {
        for (s, &v) in acc.iter_mut().zip(row) {
            *s = s.wrapping_add(zero.wrapping_mul(i32::from(v)));
        }
    }
}

#[inline(always)]
fn quantize_one(v: f32, inv: f32, zero: f32) -> u8 {
    (v.mul_add(inv, zero).clamp(0.0, 255.0) + 0.5) as u8
}

fn pack4_portable(rows: [&[f32]; GROUP], out: &mut [u32], inv: f32, zero: f32) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = u32::from_le_bytes(std::array::from_fn(|j| quantize_one(rows[j][i], inv, zero)));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pack4_avx512(rows: [&[f32]; GROUP], out: &mut [u32], inv: f32, zero: f32) {
    use std::arch::x86_64::*;
    let n = out.len();
    let body = n / 16 * 16;
    // SAFETY: every row holds at least `n` samples (checked by the caller's slicing); 16-lane steps below `body`.
    unsafe {
        let (vinv, vzero) = (_mm512_set1_ps(inv), _mm512_set1_ps(zero));
        let (lo, hi, half) = (_mm512_setzero_ps(), _mm512_set1_ps(255.0), _mm512_set1_ps(0.5));
        let mut i = 0;
        while i < body {
            let mut word = _mm512_setzero_si512();
            for (j, row) in rows.iter().enumerate() {
                let v = _mm512_fmadd_ps(_mm512_loadu_ps(row.as_ptr().add(i)), vinv, vzero);
                // max/min return the second operand for NaN, so a NaN sample clamps to 0 as in the portable code.
                let v = _mm512_add_ps(_mm512_min_ps(_mm512_max_ps(v, lo), hi), half);
                let q = _mm512_cvttps_epi32(v);
                word = _mm512_or_si512(word, _mm512_sllv_epi32(q, _mm512_set1_epi32(8 * j as i32)));
            }
            _mm512_storeu_si512(out.as_mut_ptr().add(i) as *mut _, word);
            i += 16;
        }
    }
    let tail: [&[f32]; GROUP] = std::array::from_fn(|j| &rows[j][body..n]);
    pack4_portable(tail, &mut out[body..], inv, zero);
}

/// A stride-1, "same"-padded Conv1d with INT8 weights (symmetric, per output channel) over [`QuantizedRows`].
#[derive(Debug, Clone)]
pub struct Int8Conv {
    /// `[⌈C_out/4⌉][⌈C_in/4⌉][K][4 outputs][4 inputs]`: the kernel's broadcasts in the order it reads them.
    packed: Vec<i8>,
    /// Per output channel: the weight scale and the bias.
    w_scale: Vec<f32>,
    /// `[⌈C_in/4⌉][C_out]`: `Σ_k Σ_{c in group} qw`, which the group's zero point multiplies (group-major, so
    /// that a tile's zero-point totals are one pass of `zero_g · row_g` over its groups). In i16 (`|Σ| ≤ 4·K·127`,
    /// K ≤ 64): that pass streams these rows from memory, and in i32 they were as many bytes as the weights.
    w_sum: Vec<i16>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    kernel: usize,
    dilation: usize,
    code: Kernel,
}

impl Int8Conv {
    /// Quantizes PyTorch's `weight [C_out, C_in, K]` (row-major) per output channel: `scale = max|w|/127`.
    pub fn new(weight: &[f32], bias: &[f32], c_out: usize, c_in: usize, kernel: usize, dilation: usize) -> Self {
        assert_eq!(weight.len(), c_out * c_in * kernel, "conv weight shape");
        assert!(kernel <= 64, "kernels of up to 64 taps (their group sums are kept in i16)");
        let row = c_in * kernel;
        let mut q = vec![0i8; weight.len()];
        let mut scales = vec![0.0f32; c_out];
        // Row by row across the cores: the decoder alone has 33 M weights, quantized at every engine load.
        q.par_chunks_mut(row.max(1)).zip(scales.par_iter_mut()).enumerate().for_each(|(o, (dst, sc))| {
            let (qr, s) = quantize_row_int8(&weight[o * row..][..row]);
            dst.copy_from_slice(&qr);
            *sc = s;
        });
        Self::from_int8(&q, &scales, bias, c_out, c_in, kernel, dilation)
    }

    /// From weights already quantized: `q [C_out, C_in, K]` with `weight ≈ scale[o] · q`.
    pub fn from_int8(
        q: &[i8],
        scale: &[f32],
        bias: &[f32],
        c_out: usize,
        c_in: usize,
        kernel: usize,
        dilation: usize,
    ) -> Self {
        assert_eq!(q.len(), c_out * c_in * kernel, "conv weight shape");
        assert_eq!(scale.len(), c_out, "conv weight scales");
        assert_eq!(bias.len(), c_out, "conv bias shape");
        assert!(kernel % 2 == 1, "same padding needs an odd kernel");
        let (og, cg) = (c_out.div_ceil(GROUP), c_in.div_ceil(GROUP));
        let row = c_in * kernel;
        let group_len = cg * kernel * GROUP * GROUP;
        // `packed[g][cg][k][j][i]` = weight (output 4g + j, input 4·cg + i, tap k); zeros past the edges.
        let mut packed = vec![0i8; og * group_len];
        packed.par_chunks_mut(group_len.max(1)).enumerate().for_each(|(g, dst)| {
            for j in 0..GROUP.min(c_out - g * GROUP) {
                let weights = &q[(g * GROUP + j) * row..][..row];
                for c in 0..c_in {
                    for k in 0..kernel {
                        dst[(((c / GROUP) * kernel + k) * GROUP + j) * GROUP + c % GROUP] = weights[c * kernel + k];
                    }
                }
            }
        });
        let w_sum = (0..cg)
            .into_par_iter()
            .flat_map_iter(|g| {
                let q = &q;
                (0..c_out).map(move |o| {
                    q[o * row..][g * GROUP * kernel..((g + 1) * GROUP).min(c_in) * kernel]
                        .iter()
                        .map(|&w| w as i16)
                        .sum::<i16>()
                })
            })
            .collect();
        Self {
            packed,
            w_scale: scale.to_vec(),
            w_sum,
            bias: bias.to_vec(),
            c_in,
            c_out,
            kernel,
            dilation,
            code: Kernel::detect(),
        }
    }

    /// The same convolution on another kernel (tests force [`Kernel::Portable`]). Panics if the CPU lacks it.
    pub fn with_kernel(mut self, code: Kernel) -> Self {
        assert!(code.is_available(), "{code:?} is not available on this CPU");
        self.code = code;
        self
    }

    pub fn kernel_code(&self) -> Kernel {
        self.code
    }

    /// Output channels.
    pub fn c_in(&self) -> usize {
        self.c_in
    }

    pub fn c_out(&self) -> usize {
        self.c_out
    }

    /// Columns the taps reach on each side: the `halo` to quantize this convolution's input with.
    pub fn halo(&self) -> usize {
        self.dilation * (self.kernel - 1) / 2
    }

    /// `y [C_out, T] = conv(x)`, or `y += conv(x)` with `accumulate` (a residual connection). `x` must have
    /// been quantized with this convolution's [`Int8Conv::halo`].
    pub fn forward(&self, x: &QuantizedRows, y: &mut [f32], accumulate: bool) {
        self.forward_into(x, y, accumulate, false)
    }

    /// [`Int8Conv::forward`] writing `y [T, C_out]` (token-major: a linear layer's output) instead of
    /// `[C_out, T]`.
    pub fn forward_token_major(&self, x: &QuantizedRows, y: &mut [f32], accumulate: bool) {
        self.forward_into(x, y, accumulate, true)
    }

    fn forward_into(&self, x: &QuantizedRows, y: &mut [f32], accumulate: bool, token_major: bool) {
        let t = x.t;
        let c_out = self.c_out;
        // Where output channel `o`, column `s` lies in `y`.
        let at = move |o: usize, s: usize| if token_major { s * c_out + o } else { o * t + s };
        assert_eq!(x.channels, self.c_in, "conv input channels");
        assert_eq!(x.halo, self.halo(), "input quantized for another convolution's halo");
        assert_eq!(y.len(), self.c_out * t, "conv output shape");
        if t == 0 || self.c_out == 0 {
            return;
        }
        let groups = self.c_out.div_ceil(GROUP);
        let cg = self.c_in.div_ceil(GROUP);
        let group_len = cg * self.kernel * GROUP * GROUP;
        let out = SendPtr(y.as_mut_ptr());
        // Time tiles across the cores; a short input (a streaming window) also splits its channel groups.
        let tiles = t.div_ceil(TILE_T);
        let splits = MIN_JOBS.div_ceil(tiles).clamp(1, groups);
        let per_split = groups.div_ceil(splits);
        let min_len = (tiles * splits / 32).clamp(1, 4);
        (0..tiles * splits).into_par_iter().with_min_len(min_len).for_each(|job| {
            let (tile, split) = (job / splits, job % splits);
            let info = &x.tiles[tile];
            // The classes that hold groups (with no input channels, one empty class: the output is the bias).
            let mut classes = [0usize; CLASSES];
            let mut n_classes = 0;
            for b in 0..CLASSES {
                if !info.groups_of(b).is_empty() {
                    classes[n_classes] = b;
                    n_classes += 1;
                }
            }
            let n_classes = n_classes.max(1);
            // This job's output channels, and per class their zero-point totals `Σ_{g in class} zero_g · Σ qw[o][g]`
            // (each input group adds its row of sums once, to its own class).
            let o_lo = (split * per_split * GROUP).min(self.c_out);
            let o_hi = ((split + 1) * per_split * GROUP).min(self.c_out);
            let width = o_hi - o_lo;
            let mut offsets = OFFSETS.take();
            offsets.clear();
            offsets.resize(n_classes * width, 0);
            for (n_class, &b) in classes[..n_classes].iter().enumerate() {
                let rows = info
                    .groups_of(b)
                    .iter()
                    .map(|&m| (info.zero[m as usize] as i32, &self.w_sum[m as usize * self.c_out + o_lo..][..width]));
                zero_point_totals(&mut offsets[n_class * width..][..width], rows);
            }
            let xt = &x.data[tile * cg * x.span..][..cg * x.span];
            let t0 = tile * TILE_T;
            let n = TILE_T.min(t - t0);
            let dst = out;
            let mut edge = [0.0f32; GROUP * TILE_T];
            for g in split * per_split..((split + 1) * per_split).min(groups) {
                let o = g * GROUP;
                let full = !token_major && n == TILE_T && o + GROUP <= self.c_out;
                let (yp, y_stride) = if full {
                    // SAFETY: a whole tile of existing channels: columns t0..t0 + 96 of rows o..o + 4 lie in `y`.
                    (unsafe { dst.0.add(o * t + t0) }, t)
                } else {
                    for j in 0..GROUP {
                        for i in 0..TILE_T {
                            edge[j * TILE_T + i] = if accumulate && o + j < self.c_out && i < n {
                                // SAFETY: row o + j exists and column t0 + i < t.
                                unsafe { *dst.0.add(at(o + j, t0 + i)) }
                            } else {
                                0.0
                            };
                        }
                    }
                    (edge.as_mut_ptr(), TILE_T)
                };
                let w = &self.packed[g * group_len..][..group_len];
                for (n_class, &b) in classes[..n_classes].iter().enumerate() {
                    let members = info.groups_of(b);
                    let offset =
                        std::array::from_fn(|j| if o + j < o_hi { offsets[n_class * width + o + j - o_lo] } else { 0 });
                    let ep = Epilogue {
                        scale: std::array::from_fn(|j| {
                            self.w_scale.get(o + j).map_or(0.0, |s| s * info.class_scale[b])
                        }),
                        offset,
                        // The bias once; the classes after the first add to what the first wrote.
                        bias: std::array::from_fn(|j| {
                            if n_class == 0 { self.bias.get(o + j).copied().unwrap_or(0.0) } else { 0.0 }
                        }),
                        accumulate: accumulate || n_class > 0,
                    };
                    // SAFETY: the block reads columns 0 .. 96 + dilation·(K−1) = span of the listed group rows
                    // of this tile's input; it writes its own columns of `y` (disjoint across jobs) or `edge`.
                    unsafe { self.tile(xt, x.span, members, w, yp, y_stride, n, &ep) };
                }
                if token_major || !full {
                    // The block went to `edge`: copy its kept columns of its (up to) four channels into `y`.
                    for i in 0..n {
                        for j in 0..GROUP.min(self.c_out - o) {
                            // SAFETY: as above.
                            unsafe { *dst.0.add(at(o + j, t0 + i)) = edge[j * TILE_T + i] };
                        }
                    }
                }
            }
            OFFSETS.set(offsets);
        });
    }

    /// One 4-channel × 96-sample block over the input groups `groups` (one scale class) of a tile's input `x`
    /// (`[group][stride]` words), of which the first `cols` columns are kept (a kernel may skip the rest).
    ///
    /// # Safety
    /// `y` must be valid for 4 rows of `y_stride` floats × 96 columns; `stride ≥ 96 + dilation·(K−1)`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        &self,
        x: &[u32],
        stride: usize,
        groups: &[u32],
        w: &[i8],
        y: *mut f32,
        y_stride: usize,
        cols: usize,
        ep: &Epilogue,
    ) {
        let (k, d) = (self.kernel, self.dilation);
        debug_assert!(stride >= TILE_T + d * (k - 1));
        debug_assert!(groups.iter().all(|&g| (g as usize + 1) * stride <= x.len()));
        // SAFETY: forwarded; the VNNI kernel is only selected where the CPU has it.
        unsafe {
            let xp = x.as_ptr();
            match self.code {
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx512Vnni => {
                    let wp = w.as_ptr();
                    match (k, cols.div_ceil(16)) {
                        (3, 6) => tile_vnni::<3, 6>(xp, stride, groups, wp, 3, d, y, y_stride, ep),
                        (7, 6) => tile_vnni::<7, 6>(xp, stride, groups, wp, 7, d, y, y_stride, ep),
                        (11, 6) => tile_vnni::<11, 6>(xp, stride, groups, wp, 11, d, y, y_stride, ep),
                        (1, 6) => tile_vnni::<1, 6>(xp, stride, groups, wp, 1, d, y, y_stride, ep),
                        (1, 1) => tile_vnni::<1, 1>(xp, stride, groups, wp, 1, d, y, y_stride, ep),
                        (1, 2) => tile_vnni::<1, 2>(xp, stride, groups, wp, 1, d, y, y_stride, ep),
                        (1, 3) => tile_vnni::<1, 3>(xp, stride, groups, wp, 1, d, y, y_stride, ep),
                        (1, 4) => tile_vnni::<1, 4>(xp, stride, groups, wp, 1, d, y, y_stride, ep),
                        (k, 1) => tile_vnni::<0, 1>(xp, stride, groups, wp, k, d, y, y_stride, ep),
                        (k, 2) => tile_vnni::<0, 2>(xp, stride, groups, wp, k, d, y, y_stride, ep),
                        (k, 3) => tile_vnni::<0, 3>(xp, stride, groups, wp, k, d, y, y_stride, ep),
                        (k, 4) => tile_vnni::<0, 4>(xp, stride, groups, wp, k, d, y, y_stride, ep),
                        (k, _) => tile_vnni::<0, 6>(xp, stride, groups, wp, k, d, y, y_stride, ep),
                    }
                }
                #[cfg(target_arch = "x86_64")]
                Kernel::AvxVnni => match k {
                    3 => tile_avxvnni::<3>(xp, stride, groups, w.as_ptr(), 3, d, y, y_stride, ep),
                    7 => tile_avxvnni::<7>(xp, stride, groups, w.as_ptr(), 7, d, y, y_stride, ep),
                    11 => tile_avxvnni::<11>(xp, stride, groups, w.as_ptr(), 11, d, y, y_stride, ep),
                    k => tile_avxvnni::<0>(xp, stride, groups, w.as_ptr(), k, d, y, y_stride, ep),
                },
                _ => tile_portable(xp, stride, groups, w, k, d, y, y_stride, ep),
            }
        }
    }
}

/// Symmetric INT8 of one output channel's weights: `(q, scale)` with `w ≈ scale · q`, `q ∈ −127..=127`
/// (an all-zero row gets scale 0 and zeros).
pub fn quantize_row_int8(w: &[f32]) -> (Vec<i8>, f32) {
    let peak = w.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
    if peak == 0.0 || !peak.is_finite() {
        return (vec![0; w.len()], 0.0);
    }
    let scale = peak / 127.0;
    (w.iter().map(|&v| (v / scale).round().clamp(-127.0, 127.0) as i8).collect(), scale)
}

/// What turns a block's exact integer sums into floats: `y = (Σ − offset) · scale + bias` (one fused
/// multiply-add), then `+ y_old` when accumulating.
struct Epilogue {
    scale: [f32; GROUP],
    offset: [i32; GROUP],
    bias: [f32; GROUP],
    accumulate: bool,
}

#[inline(always)]
fn finish(sum: i32, j: usize, old: f32, ep: &Epilogue) -> f32 {
    let v = ((sum - ep.offset[j]) as f32).mul_add(ep.scale[j], ep.bias[j]);
    if ep.accumulate { old + v } else { v }
}

/// The portable kernel: the same sums in plain integer loops.
///
/// # Safety
/// As [`Int8Conv::tile`]; `x` points at the block's first input column of group row 0.
#[allow(clippy::too_many_arguments)]
unsafe fn tile_portable(
    x: *const u32,
    x_stride: usize,
    groups: &[u32],
    w: &[i8],
    kernel: usize,
    dilation: usize,
    y: *mut f32,
    y_stride: usize,
    ep: &Epilogue,
) {
    let mut acc = [[0i32; TILE_T]; GROUP];
    let span = TILE_T + dilation * (kernel - 1);
    for &c in groups {
        let c = c as usize;
        // SAFETY: the caller guarantees the row's span lies inside the buffer.
        let row = unsafe { std::slice::from_raw_parts(x.add(c * x_stride), span) };
        for k in 0..kernel {
            let wk = &w[(c * kernel + k) * GROUP * GROUP..][..GROUP * GROUP];
            let cols = &row[k * dilation..][..TILE_T];
            for (j, acc_j) in acc.iter_mut().enumerate() {
                let wj: [i32; GROUP] = std::array::from_fn(|i| wk[j * GROUP + i] as i32);
                for (a, &word) in acc_j.iter_mut().zip(cols) {
                    let b = word.to_le_bytes();
                    *a += wj[0] * b[0] as i32 + wj[1] * b[1] as i32 + wj[2] * b[2] as i32 + wj[3] * b[3] as i32;
                }
            }
        }
    }
    for (j, acc_j) in acc.iter().enumerate() {
        for (i, &s) in acc_j.iter().enumerate() {
            // SAFETY: the caller guarantees 4 rows × 96 columns of `y`.
            unsafe {
                let p = y.add(j * y_stride + i);
                *p = finish(s, j, *p, ep);
            }
        }
    }
}

/// The VNNI kernel: 24 accumulators of 16 `i32` lanes (4 output channels × 96 samples) for the reduction
/// over the listed input groups and the taps; each step loads 6 vectors (16 columns × 4 interleaved channels each), broadcasts
/// 4 weight words (one per output channel) and issues 24 `vpdpbusd`. `K` is the kernel size when known at
/// compile time (so the tap loop unrolls), else 0. `V` is the number of 16-column vectors made (6: the whole
/// block); a block with fewer columns (the last of a signal, a linear layer over a few dozen tokens) makes only
/// the vectors it keeps.
///
/// # Safety
/// As [`tile_portable`]; the CPU must have AVX-512F/BW and VNNI.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_vnni<const K: usize, const V: usize>(
    x: *const u32,
    x_stride: usize,
    groups: &[u32],
    w: *const i8,
    kernel: usize,
    dilation: usize,
    y: *mut f32,
    y_stride: usize,
    ep: &Epilogue,
) {
    use std::arch::x86_64::*;
    let kernel = if K > 0 { K } else { kernel };
    // SAFETY: the caller guarantees the pointers are valid for the block.
    unsafe {
        let mut acc = [[_mm512_setzero_si512(); V]; GROUP];
        // Cache lines of one group row that a block reads: its columns plus the taps' reach, 16 per line.
        let row_lines = (16 * V + dilation * (kernel - 1)).div_ceil(16);
        for (n, &c) in groups.iter().enumerate() {
            let c = c as usize;
            let row = x.add(c * x_stride);
            let mut wp = (w as *const i32).add(c * kernel * GROUP);
            if let Some(&next) = groups.get(n + 1) {
                let next = x.wrapping_add(next as usize * x_stride);
                for l in 0..row_lines {
                    _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(16 * l) as *const i8);
                }
            }
            for k in 0..kernel {
                let xp = row.add(k * dilation);
                let mut xs = [_mm512_setzero_si512(); V];
                for (v, xv) in xs.iter_mut().enumerate() {
                    *xv = _mm512_loadu_si512(xp.add(16 * v) as *const _);
                }
                for (j, acc_j) in acc.iter_mut().enumerate() {
                    let wj = _mm512_set1_epi32(wp.add(j).read_unaligned());
                    for (a, &xv) in acc_j.iter_mut().zip(&xs) {
                        *a = _mm512_dpbusd_epi32(*a, xv, wj);
                    }
                }
                wp = wp.add(GROUP);
            }
        }
        for (j, acc_j) in acc.iter().enumerate() {
            let offset = _mm512_set1_epi32(ep.offset[j]);
            let (scale, bias) = (_mm512_set1_ps(ep.scale[j]), _mm512_set1_ps(ep.bias[j]));
            for (v, &a) in acc_j.iter().enumerate() {
                let p = y.add(j * y_stride + 16 * v);
                let mut r = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(a, offset)), scale, bias);
                if ep.accumulate {
                    r = _mm512_add_ps(_mm512_loadu_ps(p), r);
                }
                _mm512_storeu_ps(p, r);
            }
        }
    }
}

/// The AVX-VNNI kernel: [`tile_vnni`]'s sums on 256-bit vectors. Sixteen vector registers cannot hold 4 output
/// channels × 96 samples, so the block is made in four passes of 24 columns (12 accumulators of 8 `i32` lanes,
/// 3 input vectors and a broadcast weight word live at once); each pass runs the whole reduction over the groups
/// and taps.
///
/// # Safety
/// As [`tile_portable`]; the CPU must have AVX2, FMA and AVX-VNNI.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avxvnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_avxvnni<const K: usize>(
    x: *const u32,
    x_stride: usize,
    groups: &[u32],
    w: *const i8,
    kernel: usize,
    dilation: usize,
    y: *mut f32,
    y_stride: usize,
    ep: &Epilogue,
) {
    use std::arch::x86_64::*;
    let kernel = if K > 0 { K } else { kernel };
    const PART: usize = 24;
    const V: usize = PART / 8;
    // SAFETY: the caller guarantees the pointers are valid for the block; a pass reads columns
    // `part·24 .. part·24 + 24 + dilation·(K−1)` of each listed row, inside the block's span.
    unsafe {
        for part in 0..TILE_T / PART {
            let mut acc = [[_mm256_setzero_si256(); V]; GROUP];
            for &c in groups {
                let c = c as usize;
                let row = x.add(c * x_stride + part * PART);
                let mut wp = (w as *const i32).add(c * kernel * GROUP);
                for k in 0..kernel {
                    let xp = row.add(k * dilation);
                    let mut xs = [_mm256_setzero_si256(); V];
                    for (v, xv) in xs.iter_mut().enumerate() {
                        *xv = _mm256_loadu_si256(xp.add(8 * v) as *const _);
                    }
                    for (j, acc_j) in acc.iter_mut().enumerate() {
                        let wj = _mm256_set1_epi32(wp.add(j).read_unaligned());
                        for (a, &xv) in acc_j.iter_mut().zip(&xs) {
                            *a = _mm256_dpbusd_avx_epi32(*a, xv, wj);
                        }
                    }
                    wp = wp.add(GROUP);
                }
            }
            for (j, acc_j) in acc.iter().enumerate() {
                let offset = _mm256_set1_epi32(ep.offset[j]);
                let (scale, bias) = (_mm256_set1_ps(ep.scale[j]), _mm256_set1_ps(ep.bias[j]));
                for (v, &a) in acc_j.iter().enumerate() {
                    let p = y.add(j * y_stride + part * PART + 8 * v);
                    let mut r = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(a, offset)), scale, bias);
                    if ep.accumulate {
                        r = _mm256_add_ps(_mm256_loadu_ps(p), r);
                    }
                    _mm256_storeu_ps(p, r);
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint column ranges of one buffer to the tiles.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear layer's token-major input quantizes with the same scales and zero points as its transpose
    /// given row by row, and to the same bytes up to the rounding of a fused multiply-add (±1); the
    /// vectorised byte conversion equals the portable one.
    #[test]
    fn token_major_quantization_matches_the_row_quantization() {
        let (t, channels) = (130usize, 37usize);
        let x: Vec<f32> = (0..t * channels)
            .map(|i| ((i * 7919) % 1013) as f32 / 50.0 - 9.0 + if i % 37 == 5 { 40.0 } else { 0.0 })
            .collect();
        let xt: Vec<f32> = (0..channels * t).map(|k| x[(k % t) * channels + k / t]).collect();
        let (mut a, mut b) = (QuantizedRows::new(), QuantizedRows::new());
        a.quantize_tokens(&x, t, channels);
        b.quantize(channels, t, 0, |c| &xt[c * t..(c + 1) * t]);
        for s in 0..t {
            for c in 0..channels {
                assert_eq!(a.quantization(s, c), b.quantization(s, c), "column {s}, channel {c}");
                let step = a.quantization(s, c).0;
                assert!(
                    (a.dequantized(s, c, s) - b.dequantized(s, c, s)).abs() <= 1.001 * step,
                    "column {s}, channel {c}"
                );
            }
        }
        let inv: Vec<f32> = (0..channels).map(|c| 1.0 + c as f32 * 0.37).collect();
        let zero: Vec<f32> = (0..channels).map(|c| (c * 7 % 256) as f32).collect();
        for row in x.chunks(channels) {
            let (mut fast, mut slow) = (vec![0u8; channels], vec![0u8; channels]);
            quantize_features(row, &inv, &zero, &mut fast);
            quantize_features_portable(row, &inv, &zero, &mut slow);
            assert_eq!(fast, slow);
        }
        let mut acc: Vec<i32> = (0..1000).map(|i| i * 31 % 255).collect();
        let w: Vec<i16> = (0..1000).map(|i| (i * 17 % 4001) as i16 - 2000).collect();
        let want: Vec<i32> = acc.iter().zip(&w).map(|(s, &x)| s + 37 * i32::from(x) - 5 * (i32::from(x) + 1)).collect();
        let w1: Vec<i16> = w.iter().map(|x| x + 1).collect();
        let mut portable = acc.clone();
        let rows = [(37, &w[..]), (-5, &w1[..])];
        zero_point_totals(&mut acc, rows.iter().copied());
        zero_point_totals_portable(&mut portable, rows.iter().copied());
        assert_eq!(portable, want);
        assert_eq!(acc, want);
    }

    fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// The definition on the dequantized operands, in f64: what the integer kernels must equal up to the
    /// epilogue's f32 rounding.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        conv: &Int8Conv,
        q: &[i8],
        x: &QuantizedRows,
        c_out: usize,
        c_in: usize,
        k: usize,
        d: usize,
    ) -> Vec<f64> {
        let t = x.len();
        let pad = (d * (k - 1) / 2) as isize;
        let mut y = vec![0.0f64; c_out * t];
        for o in 0..c_out {
            for j in 0..t {
                let mut acc = conv.bias[o] as f64;
                for c in 0..c_in {
                    for kk in 0..k {
                        let s = j as isize + (kk * d) as isize - pad;
                        if s >= 0 && (s as usize) < t {
                            let w = conv.w_scale[o] as f64 * q[(o * c_in + c) * k + kk] as f64;
                            acc += w * x.dequantized(j, c, s as usize) as f64;
                        }
                    }
                }
                y[o * t + j] = acc;
            }
        }
        y
    }

    #[test]
    fn kernels_match_the_definition_across_tiles_edges_and_odd_channels() {
        for (c_in, c_out, k, d, t) in [
            (3, 4, 3, 1, 5),
            (5, 3, 11, 5, 7),
            (5, 8, 11, 5, 7),
            (8, 6, 7, 3, TILE_T + 37),
            (8, 8, 7, 3, 2 * TILE_T),
            (16, 12, 11, 5, 3 * TILE_T + 1),
            (7, 4, 1, 1, TILE_T - 1),
            (12, 20, 3, 1, 40 * TILE_T + 3),
        ] {
            let w = pseudo_random(c_out * c_in * k, 1);
            let b = pseudo_random(c_out, 2);
            // Skewed inputs (a Snake output is mostly positive) so that the zero points are not 128, and
            // channels of very different ranges so that several scale classes are used.
            let spread = [1.0f32, 0.3, 0.05, 2.0, 0.01, 0.6, 0.15];
            let xs: Vec<f32> = pseudo_random(c_in * t, 3)
                .iter()
                .enumerate()
                .map(|(i, v)| (3.0 * v + 1.2) * spread[(i / t) % 7])
                .collect();
            let residual = pseudo_random(c_out * t, 4);
            let mut x = QuantizedRows::new();
            x.quantize(c_in, t, d * (k - 1) / 2, |c| &xs[c * t..][..t]);
            let portable = Int8Conv::new(&w, &b, c_out, c_in, k, d).with_kernel(Kernel::Portable);
            let q: Vec<i8> = (0..c_out).flat_map(|o| quantize_row_int8(&w[o * c_in * k..][..c_in * k]).0).collect();
            let want = reference(&portable, &q, &x, c_out, c_in, k, d);
            let mut got = vec![0.0f32; c_out * t];
            portable.forward(&x, &mut got, false);
            let worst = got.iter().zip(&want).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
            assert!(worst < 1e-4, "portable: c_in {c_in} c_out {c_out} k {k} d {d} t {t}: {worst}");
            let mut acc = residual.clone();
            portable.forward(&x, &mut acc, true);
            for ((a, r), g) in acc.iter().zip(&residual).zip(&got) {
                assert!((a - (r + g)).abs() <= 1e-6 * (1.0 + a.abs()), "portable accumulate");
            }
            for code in [Kernel::Avx512Vnni, Kernel::AvxVnni] {
                if !code.is_available() {
                    eprintln!("this CPU cannot run {code:?}: not checked");
                    continue;
                }
                let fast_conv = portable.clone().with_kernel(code);
                let mut fast = vec![0.0f32; c_out * t];
                fast_conv.forward(&x, &mut fast, false);
                assert_eq!(fast, got, "{code:?} differs from portable: c_in {c_in} c_out {c_out} k {k} d {d} t {t}");
                let mut fast_acc = residual.clone();
                fast_conv.forward(&x, &mut fast_acc, true);
                assert_eq!(fast_acc, acc, "{code:?} accumulate differs: c_in {c_in} c_out {c_out} k {k} d {d} t {t}");
            }
        }
    }

    #[test]
    fn the_quantized_conv_is_close_to_the_float_conv() {
        // Real-valued weights and inputs: the two roundings (weights to 1/254 of their row peak, inputs to 1/255
        // of their range) keep the output within a small fraction of its spread.
        let (c_in, c_out, k, d, t) = (64, 16, 7, 3, 500);
        let w: Vec<f32> = pseudo_random(c_out * c_in * k, 5).iter().map(|v| v * 0.05).collect();
        let xs: Vec<f32> = pseudo_random(c_in * t, 6).iter().map(|v| v * 2.0 + 0.5).collect();
        let b = vec![0.1; c_out];
        let mut x = QuantizedRows::new();
        x.quantize(c_in, t, d * (k - 1) / 2, |c| &xs[c * t..][..t]);
        let conv = Int8Conv::new(&w, &b, c_out, c_in, k, d);
        let mut got = vec![0.0f32; c_out * t];
        conv.forward(&x, &mut got, false);
        let pad = (d * (k - 1) / 2) as isize;
        let (mut err, mut power) = (0.0f64, 0.0f64);
        for o in 0..c_out {
            for j in 0..t {
                let mut acc = b[o] as f64;
                for c in 0..c_in {
                    for kk in 0..k {
                        let s = j as isize + (kk * d) as isize - pad;
                        if s >= 0 && (s as usize) < t {
                            acc += w[(o * c_in + c) * k + kk] as f64 * xs[c * t + s as usize] as f64;
                        }
                    }
                }
                err += (got[o * t + j] as f64 - acc).powi(2);
                power += acc * acc;
            }
        }
        let snr = 10.0 * (power / err).log10();
        assert!(snr > 38.0, "INT8 conv SNR {snr:.1} dB");
    }

    #[test]
    fn quantization_keeps_zero_exact_and_survives_odd_inputs() {
        let mut x = QuantizedRows::new();
        let xs = [0.0f32, 1.0, -2.0, 0.5];
        x.quantize(1, 4, 1, |_| &xs[..]);
        assert_eq!(x.dequantized(0, 0, 0), 0.0);
        let (scale, zero) = x.quantization(0, 0);
        assert!((scale - 3.0 / 255.0).abs() < 1e-7 && zero == 170, "{scale} {zero}");
        // All zeros, and non-finite values: no NaN scale, no panic.
        let zeros = [0.0f32; 8];
        x.quantize(1, 8, 0, |_| &zeros[..]);
        assert_eq!((x.quantization(0, 0).1, x.dequantized(0, 0, 3)), (0, 0.0));
        let bad = [f32::NAN, 1.0, f32::INFINITY];
        x.quantize(1, 3, 0, |_| &bad[..]);
        assert!(x.quantization(0, 0).0.is_finite());
        let (q, s) = quantize_row_int8(&[0.0, 0.0]);
        assert_eq!((q, s), (vec![0, 0], 0.0));
    }
}
