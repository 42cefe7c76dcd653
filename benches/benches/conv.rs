//! The generator's convolution kernels on their real shapes (c07's lengths: 5,640 columns at 256 channels,
//! 33,841 at 128), Warble's direct AVX-512 kernel against the im2col + GEMM fallback and the INT8 kernel of
//! `warble-quant` (with and without quantizing its input, VNNI where the CPU has it, and each integer kernel the CPU
//! runs, forced: AVX-512 VNNI, AVX-VNNI, portable). No weights needed.
//! `albert_linear`: the same INT8 kernel as ALBERT's linear layers against Burn's f32 matmul.
//! `lstm_recurrence`: the LSTMs' recurrence on AVX-512 against the portable path.
//! Throughput is in multiply-accumulates, so criterion's "elem/s" reads as MAC/s.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use warble_quant::conv::{Int8Conv, Kernel, QuantizedRows};
use warble_vocoder::host::{HostConv, PaddedRows};

fn conv(c: &mut Criterion) {
    let mut group = c.benchmark_group("generator_conv");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    for (channels, kernel, dilation, t) in
        [(256usize, 3usize, 1usize, 5640usize), (256, 11, 5, 5640), (128, 3, 1, 33_841), (128, 11, 5, 33_841)]
    {
        // Deterministic, weight-like values; the kernels' speed does not depend on them.
        let weight: Vec<f32> =
            (0..channels * channels * kernel).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let bias = vec![0.1; channels];
        let x: Vec<f32> = (0..channels * t).map(|i| ((i * 104_729) % 997) as f32 / 997.0 - 0.5).collect();
        let input = PaddedRows::from_rows(&x, channels, t);
        let direct = HostConv::new(&weight, &bias, channels, channels, kernel, dilation);
        let gemm = direct.clone().without_direct_kernel();
        let int8 = Int8Conv::new(&weight, &bias, channels, channels, kernel, dilation);
        let mut quantized = QuantizedRows::new();
        quantized.quantize(channels, t, int8.halo(), |c| &x[c * t..][..t]);
        let mut y = vec![0.0; channels * t];
        group.throughput(Throughput::Elements((channels * channels * kernel * t) as u64));
        let shape = format!("c{channels}_k{kernel}_d{dilation}_t{t}");
        group.bench_function(BenchmarkId::new("direct", &shape), |b| {
            b.iter(|| direct.forward_padded(&input, &mut y, false))
        });
        group.bench_function(BenchmarkId::new("int8", &shape), |b| b.iter(|| int8.forward(&quantized, &mut y, false)));
        // Each integer kernel this CPU runs, forced (the one above is the one `Kernel::detect` picks).
        for (name, code) in [
            ("int8_avx512vnni", Kernel::Avx512Vnni),
            ("int8_avxvnni", Kernel::AvxVnni),
            ("int8_portable", Kernel::Portable),
        ] {
            if code.is_available() {
                let forced = int8.clone().with_kernel(code);
                group.bench_function(BenchmarkId::new(name, &shape), |b| {
                    b.iter(|| forced.forward(&quantized, &mut y, false))
                });
            }
        }
        group.bench_function(BenchmarkId::new("int8_with_quantize", &shape), |b| {
            b.iter(|| {
                quantized.quantize(channels, t, int8.halo(), |c| &x[c * t..][..t]);
                int8.forward(&quantized, &mut y, false)
            })
        });
        group.bench_function(BenchmarkId::new("im2col_gemm", &shape), |b| {
            b.iter(|| gemm.forward_padded(&input, &mut y, false))
        });
    }
    group.finish();
}

/// ALBERT's linear layers on a stream's first call (42 tokens) and a long sentence (200), and an LSTM input
/// projection (640 → 2 × 4 × 256): Burn's f32 matmul (what the f32 model runs) against the INT8 kernel as a linear
/// layer, its input quantized in each iteration, and the BF16 layer, its input rounded in each iteration.
fn albert_linear(c: &mut Criterion) {
    use burn::tensor::{Device, Tensor, TensorData};
    use warble_quant::bf16::Bf16Linear;
    use warble_quant::linear::Int8Linear;
    let mut group = c.benchmark_group("albert_linear");
    group.sample_size(30).measurement_time(Duration::from_secs(3));
    let device = Device::flex();
    for (d_in, d_out, t) in
        [(768usize, 768usize, 42usize), (768, 2048, 42), (2048, 768, 42), (768, 2048, 200), (640, 2048, 60)]
    {
        let weight: Vec<f32> = (0..d_in * d_out).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let bias = vec![0.1; d_out];
        let x: Vec<f32> = (0..t * d_in).map(|i| ((i * 104_729) % 997) as f32 / 997.0 - 0.5).collect();
        let int8 = Int8Linear::new(&weight, &bias, d_out, d_in);
        let bf16 = Bf16Linear::new(&weight, &bias, d_out, d_in);
        // Stored `[in, out]`, as `warble_acoustic::nn::Linear` keeps it.
        let w_in_out: Vec<f32> = (0..d_in * d_out).map(|k| weight[(k % d_out) * d_in + k / d_out]).collect();
        let w = Tensor::<2>::from_data(TensorData::new(w_in_out, [d_in, d_out]), &device);
        let b = Tensor::<1>::from_data(TensorData::new(bias.clone(), [d_out]), &device);
        let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [1, t, d_in]), &device);
        group.throughput(Throughput::Elements((d_in * d_out * t) as u64));
        let shape = format!("{d_in}x{d_out}_t{t}");
        group.bench_function(BenchmarkId::new("f32_burn", &shape), |bench| {
            bench.iter(|| {
                let y = burn::tensor::module::linear(xt.clone(), w.clone(), Some(b.clone()));
                y.into_data()
            })
        });
        group.bench_function(BenchmarkId::new("int8", &shape), |bench| bench.iter(|| int8.forward(&x)));
        group.bench_function(BenchmarkId::new("bf16", &shape), |bench| bench.iter(|| bf16.forward(&x)));
    }
    group.finish();
}

/// The prosody predictor's and text encoder's LSTM recurrence (hidden 256 per direction, both directions on two
/// threads) at a first call's lengths: the widest-SIMD path against the portable one (libm's `expf`/`tanhf`).
fn lstm(c: &mut Criterion) {
    use warble_acoustic::nn::{lstm_recurrence, lstm_recurrence_portable};
    let mut group = c.benchmark_group("lstm_recurrence");
    group.sample_size(20).measurement_time(Duration::from_secs(3));
    let h = 256;
    let g = 4 * h;
    let w_hh: Vec<f32> = (0..2 * h * g).map(|i| (((i * 7919) % 1000) as f32 / 1000.0 - 0.5) * 0.1).collect();
    for t in [60usize, 160] {
        let xw: Vec<f32> = (0..t * 2 * g).map(|i| ((i * 104_729) % 997) as f32 / 997.0 * 4.0 - 2.0).collect();
        group.throughput(Throughput::Elements((2 * t * h * g) as u64));
        group.bench_function(BenchmarkId::new("fastest", t), |b| b.iter(|| lstm_recurrence(&xw, &w_hh, t, h)));
        group
            .bench_function(BenchmarkId::new("portable", t), |b| b.iter(|| lstm_recurrence_portable(&xw, &w_hh, t, h)));
    }
    group.finish();
}

criterion_group!(benches, conv, albert_linear, lstm);
criterion_main!(benches);
