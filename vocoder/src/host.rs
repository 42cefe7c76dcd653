//! CPU kernels for the generator's residual stacks, the hot path of the whole model.
//!
//! Through Burn's flex backend each `AdaINResBlock1` unit is about fifteen tensor operations: an instance norm
//! and an affine map, Snake (`sin`, square, scale, add), a convolution whose im2col goes through an NHWC copy
//! and an element-by-element gather, each writing a fresh `C × 120·frames` tensor. Profiling c07 put the GEMM
//! micro-kernel at a third of the time and the rest in those passes, `sinf`, and page faults on fresh buffers.
//! Here one unit is: one pass for the norm statistics, one fused AdaIN+Snake pass, and a convolution built from
//! contiguous row copies (no transposition) feeding the same AVX-512 GEMM (the `gemm` crate Burn uses), tiled
//! over time on both cores. The Burn modules stay the reference: the GPU path and the parity tests of this file
//! compare against them.

use rayon::prelude::*;

/// Zero columns kept on both sides of every row of a [`PaddedRows`]: the widest "same" padding of the
/// generator's convolutions is `5·(11 − 1)/2 = 25`.
pub const PAD: usize = 32;

/// Output columns one call of the direct kernel computes per channel group (6 vectors of 16).
const TILE_T: usize = 96;
/// Output channels one call of the direct kernel computes.
const GROUP: usize = 4;
/// Parallel jobs a direct convolution is cut into at least (time tiles × channel-group splits).
const MIN_JOBS: usize = 16;

/// A `[C, T]` signal stored with [`PAD`] zero columns before each row and at least `PAD` after it (rows padded
/// to a whole number of [`TILE_T`] columns), so that a convolution reads its "same" padding and its last
/// partial tile straight from memory, without clipping or an im2col copy.
#[derive(Debug, Default)]
pub struct PaddedRows {
    data: HugeBuf,
    channels: usize,
    t: usize,
    stride: usize,
}

impl PaddedRows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes room for `[channels, t]`; the padding is zero afterwards, the signal columns are left to the
    /// caller to write.
    pub fn reshape(&mut self, channels: usize, t: usize) {
        if channels == self.channels && t == self.t {
            return;
        }
        self.channels = channels;
        self.t = t;
        self.stride = PAD + t.div_ceil(TILE_T) * TILE_T + PAD;
        self.data = HugeBuf::zeroed(channels * self.stride);
    }

    /// From a plain row-major `x [channels, t]`.
    pub fn from_rows(x: &[f32], channels: usize, t: usize) -> Self {
        assert_eq!(x.len(), channels * t, "signal shape");
        let mut p = Self::new();
        p.reshape(channels, t);
        for c in 0..channels {
            p.row_mut(c).copy_from_slice(&x[c * t..][..t]);
        }
        p
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

    /// The `t` signal columns of row `c`.
    pub fn row_mut(&mut self, c: usize) -> &mut [f32] {
        &mut self.data[c * self.stride + PAD..][..self.t]
    }

    /// The `t` signal columns of row `c`.
    pub fn row(&self, c: usize) -> &[f32] {
        &self.data[c * self.stride + PAD..][..self.t]
    }

    /// Every row's signal columns, for filling them in parallel.
    fn rows_mut(&mut self) -> impl IndexedParallelIterator<Item = &mut [f32]> {
        let t = self.t;
        self.data.par_chunks_mut(self.stride.max(1)).map(move |row| &mut row[PAD..][..t])
    }
}

/// A zeroed `f32` buffer that asks Linux for 2 MiB pages. The direct convolution walks down 128–256 rows
/// ~136 KB apart for every output block, one 4 KiB page per row: with small pages that is a TLB miss per row,
/// which cost the 3-tap convolutions a fifth of their speed; fresh huge pages also fault in 512× less often.
/// Elsewhere (or if `mmap` fails) a plain heap allocation.
#[derive(Debug, Default)]
struct HugeBuf {
    /// `Some((base, bytes))` of an `mmap`ed region; `None` for the heap fallback.
    #[cfg(target_os = "linux")]
    map: Option<(std::ptr::NonNull<libc::c_void>, usize)>,
    ptr: Option<std::ptr::NonNull<f32>>,
    len: usize,
    heap: Vec<f32>,
}

// SAFETY: HugeBuf owns its memory exclusively, like a Vec.
unsafe impl Send for HugeBuf {}
unsafe impl Sync for HugeBuf {}

impl HugeBuf {
    fn zeroed(len: usize) -> Self {
        #[cfg(target_os = "linux")]
        {
            const HUGE: usize = 2 << 20;
            let bytes = len * std::mem::size_of::<f32>();
            if bytes >= HUGE {
                let map_len = bytes + HUGE;
                // SAFETY: a fresh private anonymous mapping (zero-filled by the kernel); the aligned part
                // `[aligned, aligned + bytes)` lies inside it.
                unsafe {
                    let base = libc::mmap(
                        std::ptr::null_mut(),
                        map_len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    );
                    if base != libc::MAP_FAILED {
                        let aligned = (base as usize).next_multiple_of(HUGE);
                        libc::madvise(aligned as *mut libc::c_void, bytes.next_multiple_of(HUGE), libc::MADV_HUGEPAGE);
                        return Self {
                            map: std::ptr::NonNull::new(base).map(|b| (b, map_len)),
                            ptr: std::ptr::NonNull::new(aligned as *mut f32),
                            len,
                            heap: Vec::new(),
                        };
                    }
                }
            }
        }
        Self { heap: vec![0.0; len], len, ..Self::default() }
    }

    fn as_ptr(&self) -> *const f32 {
        self.ptr.map_or(self.heap.as_ptr(), |p| p.as_ptr())
    }
}

impl std::ops::Deref for HugeBuf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match self.ptr {
            // SAFETY: `len` initialised (zeroed) floats owned by this buffer.
            Some(p) => unsafe { std::slice::from_raw_parts(p.as_ptr(), self.len) },
            None => &self.heap,
        }
    }
}

impl std::ops::DerefMut for HugeBuf {
    fn deref_mut(&mut self) -> &mut [f32] {
        match self.ptr {
            // SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
            Some(p) => unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), self.len) },
            None => &mut self.heap,
        }
    }
}

impl Drop for HugeBuf {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some((base, map_len)) = self.map.take() {
            // SAFETY: the mapping made in `zeroed`, unmapped once.
            unsafe { libc::munmap(base.as_ptr(), map_len) };
        }
    }
}

/// A stride-1, "same"-padded Conv1d on the host.
///
/// Two kernels: where the CPU has AVX-512 (and `C_out` is a multiple of 4), a direct convolution that keeps a
/// 4-channel × 96-sample output block in registers and reads the padded input rows in place (the approach of
/// onnxruntime's NCHWc kernels: no im2col copy, no packing per call, the weights packed once here);
/// elsewhere an im2col by contiguous row copies into the `gemm` crate's GEMM.
#[derive(Debug, Clone)]
pub struct HostConv {
    /// `[C_out, K·C_in]`, column `k·C_in + c` holding PyTorch's `weight[o, c, k]` (the GEMM's operand).
    weight: Vec<f32>,
    /// `[C_out/4][C_in][K][4]`: the direct kernel's broadcasts, in the order it reads them.
    packed: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    kernel: usize,
    dilation: usize,
    direct: bool,
}

/// Output columns per GEMM call: large enough to amortise packing the weight, small enough that two tiles'
/// im2col buffers stay a few MB.
const TILE: usize = 1024;

impl HostConv {
    /// From PyTorch's `weight [C_out, C_in, K]` (row-major) and `bias [C_out]`.
    pub fn new(weight: &[f32], bias: &[f32], c_out: usize, c_in: usize, kernel: usize, dilation: usize) -> Self {
        assert_eq!(weight.len(), c_out * c_in * kernel, "conv weight shape");
        assert_eq!(bias.len(), c_out, "conv bias shape");
        assert!(kernel % 2 == 1, "same padding needs an odd kernel");
        assert!(dilation * (kernel - 1) / 2 <= PAD, "padding wider than PaddedRows keeps");
        let at = |o: usize, c: usize, k: usize| weight[(o * c_in + c) * kernel + k];
        let mut w = vec![0.0; weight.len()];
        for o in 0..c_out {
            for c in 0..c_in {
                for k in 0..kernel {
                    w[o * kernel * c_in + k * c_in + c] = at(o, c, k);
                }
            }
        }
        let direct = c_out.is_multiple_of(GROUP) && avx512();
        let mut packed = Vec::new();
        if direct {
            packed.reserve(weight.len());
            for g in 0..c_out / GROUP {
                for c in 0..c_in {
                    for k in 0..kernel {
                        packed.extend((0..GROUP).map(|j| at(g * GROUP + j, c, k)));
                    }
                }
            }
        }
        Self { weight: w, packed, bias: bias.to_vec(), c_in, c_out, kernel, dilation, direct }
    }

    /// The same convolution through the im2col + GEMM kernel (the fallback, kept testable on any CPU).
    pub fn without_direct_kernel(mut self) -> Self {
        self.direct = false;
        self.packed = Vec::new();
        self
    }

    /// `x [C_in, T]` → `[C_out, T]`, zero padding `dilation·(K−1)/2` on both sides (PyTorch's Conv1d).
    pub fn forward(&self, x: &[f32], t: usize) -> Vec<f32> {
        let x = PaddedRows::from_rows(x, self.c_in, t);
        let mut y = vec![0.0; self.c_out * t];
        self.forward_padded(&x, &mut y, false);
        y
    }

    /// `y [C_out, T] = conv(x)`, or `y += conv(x)` with `accumulate` (a residual connection without a pass of
    /// its own).
    pub fn forward_padded(&self, x: &PaddedRows, y: &mut [f32], accumulate: bool) {
        let t = x.t;
        assert_eq!(x.channels, self.c_in, "conv input channels");
        assert_eq!(y.len(), self.c_out * t, "conv output shape");
        if t == 0 {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if self.direct {
            return self.forward_direct(x, y, accumulate);
        }
        self.forward_gemm(x, y, accumulate)
    }

    #[cfg(target_arch = "x86_64")]
    fn forward_direct(&self, x: &PaddedRows, y: &mut [f32], accumulate: bool) {
        let t = x.t;
        let first = PAD - self.dilation * (self.kernel - 1) / 2;
        let groups = self.c_out / GROUP;
        let group_len = self.c_in * self.kernel * GROUP;
        let out = SendPtr(y.as_mut_ptr());
        // Time tiles across the cores; within a tile every channel group reuses the same input columns, which
        // stay in L2. A short input (a streaming window: 16 frames are 4 tiles at the first stage's rate) has
        // too few tiles to keep every core busy, so its channel groups are split as well.
        let tiles = t.div_ceil(TILE_T);
        let splits = MIN_JOBS.div_ceil(tiles).clamp(1, groups);
        let per_split = groups.div_ceil(splits);
        // Fewer, longer jobs on long inputs (less scheduling); single ones on short inputs (balance).
        let min_len = (tiles * splits / 32).clamp(1, 4);
        (0..tiles * splits).into_par_iter().with_min_len(min_len).for_each(|job| {
            let (tile, split) = (job / splits, job % splits);
            let t0 = tile * TILE_T;
            let n = TILE_T.min(t - t0);
            let dst = out;
            let mut edge = [0.0f32; GROUP * TILE_T];
            for g in split * per_split..((split + 1) * per_split).min(groups) {
                let o = g * GROUP;
                let bias: [f32; GROUP] = std::array::from_fn(|j| self.bias[o + j]);
                // SAFETY: AVX-512F was detected when `direct` was set. Input reads stay inside the padded rows:
                // columns first + t0 .. first + t0 + 95 + dilation·(K−1) < stride, as rows are padded to whole
                // tiles plus PAD. Tiles write disjoint columns of `y`; a partial tile goes through `edge`.
                unsafe {
                    let xp = x.data.as_ptr().add(first + t0);
                    let wp = self.packed.as_ptr().add(g * group_len);
                    if n == TILE_T {
                        let yp = dst.0.add(o * t + t0);
                        conv_tile(self.kernel, xp, x.stride, wp, self.c_in, self.dilation, yp, t, bias, accumulate);
                    } else {
                        for j in 0..GROUP {
                            for i in 0..n {
                                edge[j * TILE_T + i] = if accumulate { *dst.0.add((o + j) * t + t0 + i) } else { 0.0 };
                            }
                        }
                        conv_tile(
                            self.kernel,
                            xp,
                            x.stride,
                            wp,
                            self.c_in,
                            self.dilation,
                            edge.as_mut_ptr(),
                            TILE_T,
                            bias,
                            accumulate,
                        );
                        for j in 0..GROUP {
                            for i in 0..n {
                                *dst.0.add((o + j) * t + t0 + i) = edge[j * TILE_T + i];
                            }
                        }
                    }
                }
            }
        });
    }

    fn forward_gemm(&self, x: &PaddedRows, y: &mut [f32], accumulate: bool) {
        let t = x.t;
        for (row, &b) in y.chunks_mut(t).zip(&self.bias) {
            if accumulate {
                row.iter_mut().for_each(|v| *v += b);
            } else {
                row.fill(b);
            }
        }
        let rows = self.kernel * self.c_in;
        let first = PAD - self.dilation * (self.kernel - 1) / 2;
        let out = SendPtr(y.as_mut_ptr());
        let tiles = t.div_ceil(TILE);
        (0..tiles).into_par_iter().for_each_init(Vec::new, |cols: &mut Vec<f32>, tile| {
            let t0 = tile * TILE;
            let n = TILE.min(t - t0);
            if cols.len() < rows * n {
                cols.resize(rows * n, 0.0);
            }
            // im2col by rows: row (k, c) is x[c] shifted by k·dilation, one contiguous copy (the padding
            // supplies the zeros).
            for k in 0..self.kernel {
                for c in 0..self.c_in {
                    let src = &x.data[c * x.stride + first + t0 + k * self.dilation..][..n];
                    cols[(k * self.c_in + c) * n..][..n].copy_from_slice(src);
                }
            }
            let dst = out;
            // SAFETY: each tile writes only its own columns `t0..t0 + n` of `y` (rows of stride `t`); `cols`
            // and the weight are valid for the strides given.
            unsafe {
                gemm::gemm(
                    self.c_out,
                    n,
                    rows,
                    dst.0.add(t0),
                    1,
                    t as isize,
                    true,
                    self.weight.as_ptr(),
                    1,
                    rows as isize,
                    cols.as_ptr(),
                    1,
                    n as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
    }
}

fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`conv_tile_avx512`] with the generator's kernel sizes as constants, so that the tap loop unrolls.
///
/// # Safety
/// As [`conv_tile_avx512`].
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn conv_tile(
    kernel: usize,
    x: *const f32,
    x_stride: usize,
    w: *const f32,
    c_in: usize,
    dilation: usize,
    y: *mut f32,
    y_stride: usize,
    bias: [f32; GROUP],
    accumulate: bool,
) {
    // SAFETY: forwarded.
    unsafe {
        match kernel {
            3 => conv_tile_avx512::<3>(x, x_stride, w, c_in, 3, dilation, y, y_stride, bias, accumulate),
            7 => conv_tile_avx512::<7>(x, x_stride, w, c_in, 7, dilation, y, y_stride, bias, accumulate),
            11 => conv_tile_avx512::<11>(x, x_stride, w, c_in, 11, dilation, y, y_stride, bias, accumulate),
            _ => conv_tile_avx512::<0>(x, x_stride, w, c_in, kernel, dilation, y, y_stride, bias, accumulate),
        }
    }
}

/// One 4-channel × 96-sample output block: `y[j][i] (+)= bias[j] + Σ_c Σ_k w[c][k][j] · x[c][i + k·dilation]`,
/// with `x` pointing at the block's first input column of row 0. The 24 accumulators stay in registers for
/// the whole `C_in × K` reduction; each step loads 6 input vectors and broadcasts 4 weights for 24 FMAs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn conv_tile_avx512<const K: usize>(
    x: *const f32,
    x_stride: usize,
    w: *const f32,
    c_in: usize,
    kernel: usize,
    dilation: usize,
    y: *mut f32,
    y_stride: usize,
    bias: [f32; GROUP],
    accumulate: bool,
) {
    use std::arch::x86_64::*;
    // `K` = the kernel size when it is known at compile time, 0 otherwise.
    let kernel = if K > 0 { K } else { kernel };
    // SAFETY: the caller guarantees the pointers are valid for the block (see `forward_direct`).
    unsafe {
        const V: usize = TILE_T / 16;
        let mut acc = [[_mm512_setzero_ps(); V]; GROUP];
        for j in 0..GROUP {
            let b = _mm512_set1_ps(bias[j]);
            for (v, a) in acc[j].iter_mut().enumerate() {
                *a = if accumulate { _mm512_add_ps(_mm512_loadu_ps(y.add(j * y_stride + 16 * v)), b) } else { b };
            }
        }
        let mut wp = w;
        // Lines of one input row that a block reads: 96 outputs plus the taps' reach.
        let row_lines = (TILE_T + dilation * (kernel - 1)).div_ceil(16);
        for c in 0..c_in {
            let row = x.add(c * x_stride);
            // The next row's lines into L1 while this row's taps run (rows are far apart, so the hardware
            // prefetchers do not guess them).
            if c + 1 < c_in {
                // `wrapping_add`: the last line may reach a few floats past the buffer; a prefetch never faults.
                let next = row.wrapping_add(x_stride);
                for l in 0..row_lines {
                    _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(16 * l) as *const i8);
                }
            }
            for k in 0..kernel {
                let xp = row.add(k * dilation);
                let mut xs = [_mm512_setzero_ps(); V];
                for (v, xv) in xs.iter_mut().enumerate() {
                    *xv = _mm512_loadu_ps(xp.add(16 * v));
                }
                for (j, acc_j) in acc.iter_mut().enumerate() {
                    let wj = _mm512_set1_ps(*wp.add(j));
                    for (a, &xv) in acc_j.iter_mut().zip(&xs) {
                        *a = _mm512_fmadd_ps(xv, wj, *a);
                    }
                }
                wp = wp.add(GROUP);
            }
        }
        for (j, acc_j) in acc.iter().enumerate() {
            for (v, &a) in acc_j.iter().enumerate() {
                _mm512_storeu_ps(y.add(j * y_stride + 16 * v), a);
            }
        }
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint column ranges of one buffer to the tiles.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

/// [`adain_snake`] reading `x [C, T]` and writing the signal columns of `out` (reshaped to `[C, T]`).
pub fn adain_snake_padded(x: &[f32], t: usize, gamma: &[f32], beta: &[f32], alpha: &[f32], out: &mut PaddedRows) {
    let c = gamma.len();
    assert_eq!(x.len(), c * t, "AdaIN input shape");
    assert!(beta.len() == c && alpha.len() == c, "AdaIN/Snake parameter shapes");
    out.reshape(c, t);
    out.rows_mut().enumerate().for_each(|(ch, dst)| {
        let row = &x[ch * t..][..t];
        let (scale, shift) = instance_norm_affine(row, gamma[ch], beta[ch]);
        snake_affine(row, dst, scale, shift, alpha[ch]);
    });
}

/// Per-channel moments (count, mean, sum of squared deviations) of one normalisation layer's input over the
/// part of a call already rendered: what [`adain_snake_carried`] adds to a window's own statistics.
#[derive(Debug, Clone, Default)]
pub struct Moments {
    n: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl Moments {
    /// Chan et al.'s pairwise update: the moments of this set joined with `n` samples of the given mean and
    /// biased variance.
    fn joined(&self, ch: usize, n: f64, mean: f64, var: f64) -> (f64, f64, f64) {
        let (na, ma, m2a) =
            (self.n, self.mean.get(ch).copied().unwrap_or(0.0), self.m2.get(ch).copied().unwrap_or(0.0));
        let total = na + n;
        if total == 0.0 {
            return (0.0, 0.0, 0.0);
        }
        let delta = mean - ma;
        (total, ma + delta * n / total, m2a + var * n + delta * delta * na * n / total)
    }
}

/// [`adain_snake_padded`] for a window of a longer call: the statistics of each channel are those of the
/// window's columns from `keep.start` on (those before it, the left halo, were kept by the window before)
/// joined with `past` (the kept columns of the windows before), and the window's kept columns `keep` are then
/// added to `past`. The windows of a call thus normalise with statistics that grow towards the
/// whole call's, where the window's own would follow every pause and vowel.
#[allow(clippy::too_many_arguments)]
pub fn adain_snake_carried(
    x: &[f32],
    t: usize,
    gamma: &[f32],
    beta: &[f32],
    alpha: &[f32],
    out: &mut PaddedRows,
    past: &mut Moments,
    keep: std::ops::Range<usize>,
) {
    let c = gamma.len();
    assert_eq!(x.len(), c * t, "AdaIN input shape");
    assert!(beta.len() == c && alpha.len() == c, "AdaIN/Snake parameter shapes");
    assert!(keep.start <= keep.end && keep.end <= t, "kept columns inside the window");
    out.reshape(c, t);
    let past_now: &Moments = past;
    let updated: Vec<(f64, f64)> = out
        .rows_mut()
        .enumerate()
        .map(|(ch, dst)| {
            let row = &x[ch * t..][..t];
            // The columns before `keep` were kept (and counted) by the window before.
            let seen = &row[keep.start..];
            let (m, v) = mean_variance(seen);
            let (n, m, s) = past_now.joined(ch, seen.len() as f64, m, v);
            let var = if n > 0.0 { s / n } else { 0.0 };
            let scale = ((1.0 + gamma[ch] as f64) / (var + 1e-5).sqrt()) as f32;
            snake_affine(row, dst, scale, beta[ch] - m as f32 * scale, alpha[ch]);
            let kept = &row[keep.clone()];
            let (km, kv) = mean_variance(kept);
            let (_, m, s) = past_now.joined(ch, kept.len() as f64, km, kv);
            (m, s)
        })
        .collect();
    past.n += keep.len() as f64;
    (past.mean, past.m2) = updated.into_iter().unzip();
}

/// The per-channel `scale·x + shift` of AdaIN: `h = (1 + γ)·(x − μ)/√(σ² + ε) + β` (biased variance, ε = 1e-5,
/// as `nn.InstanceNorm1d`).
fn instance_norm_affine(row: &[f32], gamma: f32, beta: f32) -> (f32, f32) {
    let (mean, var) = mean_variance(row);
    let scale = ((1.0 + gamma as f64) / (var + 1e-5).sqrt()) as f32;
    (scale, beta - mean as f32 * scale)
}

/// Mean and biased variance of a row, in one pass: f64 sums of `x − x₀` and `(x − x₀)²` in 16 independent lanes
/// (so that they vectorise; rows are up to ~10⁶ samples, and a strict left-to-right sum would be a scalar
/// chain). Shifting by the first sample keeps `E[d²] − E[d]²` free of cancellation when the mean is large.
fn mean_variance(row: &[f32]) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { mean_variance_avx512(row) };
    }
    mean_variance_portable(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn mean_variance_avx512(row: &[f32]) -> (f64, f64) {
    mean_variance_portable(row)
}

#[inline(always)]
fn mean_variance_portable(row: &[f32]) -> (f64, f64) {
    const LANES: usize = 16;
    let Some(&first) = row.first() else { return (0.0, 0.0) };
    let shift = first as f64;
    let (mut s, mut q) = ([0.0f64; LANES], [0.0f64; LANES]);
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for i in 0..LANES {
            let d = chunk[i] as f64 - shift;
            s[i] += d;
            q[i] = d.mul_add(d, q[i]);
        }
    }
    for (i, &v) in tail.iter().enumerate() {
        let d = v as f64 - shift;
        s[i] += d;
        q[i] = d.mul_add(d, q[i]);
    }
    let n = row.len() as f64;
    let (sum, sum_sq) = (s.iter().sum::<f64>(), q.iter().sum::<f64>());
    let mean_d = sum / n;
    ((shift + mean_d), (sum_sq / n - mean_d * mean_d).max(0.0))
}

/// `dst ← h + sin²(α·h)/α` with `h = scale·src + shift`, picking the widest SIMD the CPU has.
fn snake_affine(src: &[f32], dst: &mut [f32], scale: f32, shift: f32, alpha: f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { snake_affine_avx512(src, dst, scale, shift, alpha) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA.
            return unsafe { snake_affine_avx2(src, dst, scale, shift, alpha) };
        }
    }
    snake_affine_portable(src, dst, scale, shift, alpha)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn snake_affine_avx512(src: &[f32], dst: &mut [f32], scale: f32, shift: f32, alpha: f32) {
    snake_affine_portable(src, dst, scale, shift, alpha)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn snake_affine_avx2(src: &[f32], dst: &mut [f32], scale: f32, shift: f32, alpha: f32) {
    snake_affine_portable(src, dst, scale, shift, alpha)
}

#[inline(always)]
fn snake_affine_portable(src: &[f32], dst: &mut [f32], scale: f32, shift: f32, alpha: f32) {
    let inv_alpha = 1.0 / alpha;
    for (d, &v) in dst.iter_mut().zip(src) {
        let h = v * scale + shift;
        let s = sin_squared(alpha * h);
        *d = h + s * inv_alpha;
    }
}

/// `sin²(y)`, branch-free so that it vectorises: reduce by the nearest multiple of π (sin² has period π, so the
/// quotient's parity does not matter), then the odd Taylor polynomial to y¹¹ on [−π/2, π/2]; absolute error
/// below 1e-7 for |y| < 10⁵ (checked against `f64::sin` in the tests).
#[inline(always)]
fn sin_squared(y: f32) -> f32 {
    const INV_PI: f32 = std::f32::consts::FRAC_1_PI;
    // π split in two so that n·π is exact to f32 precision for the n that occur.
    const PI_HI: f32 = 3.140625;
    const PI_LO: f32 = 9.676_536e-4;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer (|y/π| < 2²²).
    const ROUND: f32 = 12_582_912.0;
    let n = (y * INV_PI + ROUND) - ROUND;
    let r = (y - n * PI_HI) - n * PI_LO;
    let r2 = r * r;
    let p = r2.mul_add(-2.505_210_8e-8, 2.755_731_9e-6);
    let p = r2.mul_add(p, -1.984_127e-4);
    let p = r2.mul_add(p, 8.333_333e-3);
    let p = r2.mul_add(p, -0.166_666_67);
    let s = r * r2.mul_add(p, 1.0);
    s * s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sin_squared_matches_f64() {
        let mut worst = 0.0f64;
        let mut y = -20_000.0f64;
        while y < 20_000.0 {
            let got = sin_squared(y as f32) as f64;
            let want = (y as f32 as f64).sin().powi(2);
            worst = worst.max((got - want).abs());
            y += 0.013_7;
        }
        assert!(worst < 2e-6, "worst abs error {worst}");
        // Near zero the relative error matters (Snake divides by α, which can be small).
        for y in [1e-6f32, 1e-3, 0.1, -0.5] {
            let want = (y as f64).sin().powi(2);
            assert!(((sin_squared(y) as f64 - want) / want).abs() < 1e-5, "{y}");
        }
    }

    /// Direct convolution, the definition.
    #[allow(clippy::too_many_arguments)]
    fn conv_reference(
        w: &[f32],
        b: &[f32],
        x: &[f32],
        c_out: usize,
        c_in: usize,
        k: usize,
        d: usize,
        t: usize,
    ) -> Vec<f32> {
        let pad = (d * (k - 1) / 2) as isize;
        let mut y = vec![0.0f64; c_out * t];
        for o in 0..c_out {
            for j in 0..t {
                let mut acc = b[o] as f64;
                for c in 0..c_in {
                    for kk in 0..k {
                        let s = j as isize + (kk * d) as isize - pad;
                        if s >= 0 && (s as usize) < t {
                            acc += w[(o * c_in + c) * k + kk] as f64 * x[c * t + s as usize] as f64;
                        }
                    }
                }
                y[o * t + j] = acc;
            }
        }
        y.into_iter().map(|v| v as f32).collect()
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

    #[test]
    fn conv_matches_the_definition_across_tiles_and_edges() {
        // Lengths below, at and across both kernels' tile sizes; dilation wider than short inputs; channel
        // counts that the direct kernel takes (multiples of 4) and that it leaves to the GEMM.
        for (c_in, c_out, k, d, t) in [
            (3, 4, 3, 1, 5),
            (5, 3, 11, 5, 7),
            (5, 8, 11, 5, 7),
            (8, 6, 7, 3, TILE + 37),
            (8, 8, 7, 3, TILE + 37),
            (4, 4, 3, 5, 2 * TILE),
            (16, 12, 11, 5, 3 * TILE_T + 1),
            (7, 4, 1, 1, TILE_T - 1),
        ] {
            let w = pseudo_random(c_out * c_in * k, 1);
            let b = pseudo_random(c_out, 2);
            let x = pseudo_random(c_in * t, 3);
            let residual = pseudo_random(c_out * t, 4);
            let want = conv_reference(&w, &b, &x, c_out, c_in, k, d, t);
            let direct = HostConv::new(&w, &b, c_out, c_in, k, d);
            let gemm = direct.clone().without_direct_kernel();
            for (name, conv) in [("default", &direct), ("gemm", &gemm)] {
                let worst = |got: &[f32], offset: &[f32]| {
                    got.iter().zip(&want).zip(offset).map(|((a, b), r)| (a - r - b).abs()).fold(0.0f32, f32::max)
                };
                let got = conv.forward(&x, t);
                let zeros = vec![0.0; got.len()];
                assert!(
                    worst(&got, &zeros) < 1e-4,
                    "{name}: c_in {c_in} c_out {c_out} k {k} d {d} t {t}: {}",
                    worst(&got, &zeros)
                );
                // y += conv(x): the residual connection.
                let mut acc = residual.clone();
                conv.forward_padded(&PaddedRows::from_rows(&x, c_in, t), &mut acc, true);
                assert!(
                    worst(&acc, &residual) < 1e-4,
                    "{name} accumulate: c_in {c_in} c_out {c_out} k {k} d {d} t {t}"
                );
            }
        }
    }

    #[test]
    fn mean_variance_matches_two_pass_f64() {
        for (len, offset) in [(1usize, 0.0f32), (15, 3.0), (16, 0.0), (1000, 0.0), (33_841, 250.0), (5, -1e4)] {
            let x: Vec<f32> = pseudo_random(len, 9).iter().map(|v| v * 2.0 + offset).collect();
            let mean = x.iter().map(|&v| v as f64).sum::<f64>() / len as f64;
            let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / len as f64;
            let (m, v) = mean_variance(&x);
            assert!((m - mean).abs() <= 1e-9 * mean.abs().max(1.0), "{len}: mean {m} vs {mean}");
            assert!((v - var).abs() <= 1e-9 * var.max(1e-6), "{len}: variance {v} vs {var}");
        }
    }

    #[test]
    fn adain_snake_matches_the_formula() {
        let (c, t) = (3, 1000);
        let mut x = pseudo_random(c * t, 4);
        for v in x.iter_mut().skip(t).take(t) {
            *v = *v * 5.0 + 2.0;
        }
        let (gamma, beta, alpha) = ([0.5f32, -0.2, 0.0], [0.1f32, 0.0, -1.0], [1.0f32, 0.3, 7.0]);
        let mut padded = PaddedRows::new();
        adain_snake_padded(&x, t, &gamma, &beta, &alpha, &mut padded);
        let got: Vec<f32> = (0..c).flat_map(|ch| padded.row_mut(ch).to_vec()).collect();
        assert!(padded.data.iter().sum::<f32>().is_finite());
        for ch in 0..c {
            let row = &x[ch * t..][..t];
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / t as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / t as f64;
            for j in 0..t {
                let h = (1.0 + gamma[ch] as f64) * (row[j] as f64 - mean) / (var + 1e-5).sqrt() + beta[ch] as f64;
                let a = alpha[ch] as f64;
                let want = h + (a * h).sin().powi(2) / a;
                assert!((got[ch * t + j] as f64 - want).abs() < 1e-5, "{ch} {j}");
            }
        }
    }

    /// Windows of a row that carry their statistics: a window after the kept columns of all before it sees the
    /// statistics of everything so far, so a last window normalises exactly as the whole row does; the halo
    /// columns (not kept) are counted once, by the window that keeps them.
    #[test]
    fn carried_statistics_join_the_windows_before() {
        let (c, t) = (3, 700);
        let mut x = pseudo_random(c * t, 9);
        for (j, v) in x.iter_mut().enumerate() {
            *v = *v * (1.0 + (j % t) as f32 / 100.0) + (j / t) as f32; // a different scale and mean per region
        }
        let (gamma, beta, alpha) = ([0.5f32, -0.2, 0.0], [0.1f32, 0.0, -1.0], [1.0f32, 0.3, 7.0]);
        let rows = |x: &[f32], from: usize, to: usize| -> Vec<f32> {
            (0..c).flat_map(|ch| x[ch * t + from..ch * t + to].to_vec()).collect()
        };
        let mut whole = PaddedRows::new();
        adain_snake_padded(&x, t, &gamma, &beta, &alpha, &mut whole);
        // No past and every column kept: the plain AdaIN.
        let mut alone = PaddedRows::new();
        let mut past = Moments::default();
        adain_snake_carried(&x, t, &gamma, &beta, &alpha, &mut alone, &mut past, 0..t);
        for ch in 0..c {
            assert_eq!(alone.row(ch), whole.row(ch));
        }
        // Windows 0..300 (kept 0..250, 50 halo columns on the right) and 200..700 (kept 250..700, 50 halo
        // columns on the left): the second sees all 700 columns, each once.
        let mut past = Moments::default();
        let mut first = PaddedRows::new();
        adain_snake_carried(&rows(&x, 0, 300), 300, &gamma, &beta, &alpha, &mut first, &mut past, 0..250);
        assert_eq!(past.n, 250.0);
        let mut last = PaddedRows::new();
        adain_snake_carried(&rows(&x, 200, 700), 500, &gamma, &beta, &alpha, &mut last, &mut past, 50..500);
        assert_eq!(past.n, 700.0);
        for ch in 0..c {
            for (j, (&got, &want)) in last.row(ch).iter().zip(&whole.row(ch)[200..]).enumerate() {
                assert!((got - want).abs() < 2e-5, "channel {ch} column {j}: {got} against {want}");
            }
            // The first window alone differs (its statistics miss the loud end of the row).
            let diff = first.row(ch)[..250].iter().zip(&whole.row(ch)[..250]).map(|(a, b)| (a - b).abs());
            assert!(diff.fold(0.0f32, f32::max) > 1e-2, "channel {ch}");
        }
    }
}
