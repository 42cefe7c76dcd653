//! Continuous prosody controls on the model: per-token duration scale, per-frame F0 transform and per-sample
//! output gain, with smooth transitions.
//!
//! Kokoro predicts durations, then F0 and energy curves, and its decoder takes those curves as inputs. So the
//! controls act *between* the stages of one model call, never by post-processing the audio's pitch or time:
//!
//! * **rate** divides the predicted (real-valued) duration of every token it covers, before rounding. Runs of
//!   scaled tokens are rounded cumulatively, so a span's total stays within one frame of its exact target;
//!   unscaled tokens keep the reference's own rounding (half to even, at least one frame), so text without
//!   controls is bit-for-bit the reference.
//! * **`<prosody duration>`** stretches a group of tokens to a total length instead of a rate.
//! * **pitch / range / contour** transform the predicted F0 curve (two samples per 25 ms frame) of the covered
//!   frames: `range` scales the excursion around the chunk's median voiced F0, then `pitch` (or the `contour`
//!   interpolated over the span) maps the value. Unvoiced samples (≤ 10 Hz, where Kokoro's sine source is off)
//!   are left alone, so an Hz offset never turns noise into voice.
//! * **volume** is a gain on the output samples.
//!
//! Every pitch and gain change is cross-faded over [`RAMP_MS`] around the boundary between two control sets, so
//! nothing jumps. Durations are per token and have no ramp (a token is the unit of time the model knows).

use warble_ssml::{Controls, PitchTransform, Volume};

use crate::model::SAMPLES_PER_FRAME;

/// Width of the cross-fade between two control sets (pitch and gain), in milliseconds.
pub const RAMP_MS: f32 = 30.0;
/// F0 at or below this is unvoiced: Kokoro's sine source is silent there (its `voiced_threshold`).
pub const VOICED_HZ: f32 = 10.0;
/// F0 samples per frame (the predictor's curves are at twice the frame rate).
const F0_PER_FRAME: usize = 2;

/// One set of control values and where its segment lies.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlSet {
    pub controls: Controls,
    /// The share of its segment this chunk holds, as fractions `(start, end)` of the segment's symbols. A
    /// contour's positions are in segment time; this maps them onto the part spoken in this chunk.
    pub part: (f32, f32),
}

impl ControlSet {
    pub fn new(controls: Controls) -> Self {
        Self { controls, part: (0.0, 1.0) }
    }
}

/// The controls over one chunk: which [`ControlSet`] governs each phoneme symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkControls {
    /// One entry per phoneme symbol of the chunk (pads excluded): an index into `sets`. The two pads take the
    /// set of their neighbouring symbol.
    pub owner: Vec<usize>,
    pub sets: Vec<ControlSet>,
    /// `<prosody duration>` groups present in this chunk: `(group, frames this chunk's share must last)`.
    pub duration_targets: Vec<(u32, f32)>,
}

impl ChunkControls {
    /// The same controls over all `n_symbols` symbols.
    pub fn uniform(n_symbols: usize, controls: Controls) -> Self {
        Self { owner: vec![0; n_symbols], sets: vec![ControlSet::new(controls)], duration_targets: Vec::new() }
    }

    /// The set governing model position `p` (0 is the leading pad, `n + 1` the trailing one).
    fn set_index(&self, p: usize) -> usize {
        if self.owner.is_empty() {
            return 0;
        }
        let i = p.saturating_sub(1).min(self.owner.len() - 1);
        self.owner[i].min(self.sets.len().saturating_sub(1))
    }

    fn controls_at(&self, p: usize) -> Option<&Controls> {
        self.sets.get(self.set_index(p)).map(|s| &s.controls)
    }

    fn has_pitch(&self) -> bool {
        self.sets.iter().any(|s| {
            let c = &s.controls;
            !c.pitch.is_identity() || !c.range.is_identity() || c.contour.is_some()
        })
    }

    fn has_gain(&self) -> bool {
        self.sets.iter().any(|s| amplitude(&s.controls) != 1.0)
    }

    /// Frames per model position (pads included) from the predictor's expected durations (already divided by
    /// the global speed).
    pub fn durations(&self, expected: &[f32]) -> Vec<usize> {
        let n = expected.len();
        // Each position's factor: a duration group's stretch, else 1 / rate.
        let mut group_sum: Vec<(u32, f32)> = Vec::new();
        for (p, &e) in expected.iter().enumerate() {
            if let Some(g) = self.controls_at(p).and_then(|c| c.duration) {
                match group_sum.iter_mut().find(|(id, _)| *id == g.group) {
                    Some((_, s)) => *s += e,
                    None => group_sum.push((g.group, e)),
                }
            }
        }
        let factor = |p: usize| -> f32 {
            let Some(c) = self.controls_at(p) else { return 1.0 };
            if let Some(g) = c.duration {
                let target = self.duration_targets.iter().find(|(id, _)| *id == g.group).map(|t| t.1);
                let sum = group_sum.iter().find(|(id, _)| *id == g.group).map(|s| s.1);
                if let (Some(t), Some(s)) = (target, sum)
                    && s > 0.0
                    && t.is_finite()
                {
                    return (t / s).max(0.0);
                }
            }
            if c.rate.is_finite() && c.rate > 0.0 { 1.0 / c.rate } else { 1.0 }
        };
        let mut out = Vec::with_capacity(n);
        let mut p = 0;
        while p < n {
            let f = factor(p);
            let mut q = p + 1;
            while q < n && factor(q) == f {
                q += 1;
            }
            if f == 1.0 {
                out.extend(warble_acoustic::prosody::round_durations(&expected[p..q]));
            } else {
                // Cumulative rounding: each token gets the frames that keep the run's running total closest to
                // its exact value, so the run as a whole is within one frame of `Σ e · f`.
                let (mut exact, mut given) = (0.0f64, 0usize);
                for &e in &expected[p..q] {
                    exact += f64::from(e) * f64::from(f);
                    let target = exact.round().max(0.0) as usize;
                    let d = target.saturating_sub(given).max(1);
                    given += d;
                    out.push(d);
                }
            }
            p = q;
        }
        out
    }

    /// Applies pitch, range and contour to the F0 curve (`2 · Σ durations` samples).
    pub fn transform_f0(&self, f0: &mut [f32], durations: &[usize]) {
        if !self.has_pitch() || f0.is_empty() {
            return;
        }
        // The set of each F0 sample, and each set's first and last sample (its extent in this chunk).
        let mut sample_set = Vec::with_capacity(f0.len());
        for (p, &d) in durations.iter().enumerate() {
            let s = self.set_index(p);
            sample_set.extend(std::iter::repeat_n(s, d * F0_PER_FRAME));
        }
        sample_set.resize(f0.len(), sample_set.last().copied().unwrap_or(0));
        let mut extent = vec![(usize::MAX, 0usize); self.sets.len()];
        for (j, &s) in sample_set.iter().enumerate() {
            let e = &mut extent[s];
            e.0 = e.0.min(j);
            e.1 = e.1.max(j);
        }

        let mut voiced: Vec<f32> = f0.iter().copied().filter(|&f| f > VOICED_HZ).collect();
        if voiced.is_empty() {
            return;
        }
        voiced.sort_by(f32::total_cmp);
        let baseline = voiced[voiced.len() / 2];
        let excursion = voiced.iter().map(|f| (f - baseline).abs()).sum::<f32>() / voiced.len() as f32;

        let eval = |s: usize, f: f32, j: usize| -> f32 {
            let set = &self.sets[s];
            let c = &set.controls;
            let f = if c.range.is_identity() {
                f
            } else {
                let dev = f - baseline;
                baseline + dev.signum() * c.range.apply(dev.abs(), excursion.max(1e-3))
            };
            match &c.contour {
                Some(contour) if !contour.points.is_empty() => {
                    let (a, b) = extent[s];
                    let local = if b > a { (j as f32 - a as f32) / (b - a) as f32 } else { 0.0 };
                    let pos = set.part.0 + (set.part.1 - set.part.0) * local.clamp(0.0, 1.0);
                    contour_at(&contour.points, pos, f, baseline)
                }
                _ => c.pitch.apply(f, baseline),
            }
        };

        let half = ramp_half_width(RAMP_MS, 1000.0 / (40.0 * F0_PER_FRAME as f32));
        let original = f0.to_vec();
        for (j, out) in f0.iter_mut().enumerate() {
            let f = original[j];
            if f <= VOICED_HZ {
                continue;
            }
            // Cross-fade: average the transforms of the sets within ±half samples, with triangular weights.
            let (mut acc, mut wsum) = (0.0f32, 0.0f32);
            for k in -(half as isize)..=(half as isize) {
                let idx = (j as isize + k).clamp(0, sample_set.len() as isize - 1) as usize;
                let w = 1.0 - k.unsigned_abs() as f32 / (half as f32 + 1.0);
                acc += w * eval(sample_set[idx], f, j);
                wsum += w;
            }
            *out = (acc / wsum).max(0.0);
        }
    }

    /// Per-sample output gain for audio of `SAMPLES_PER_FRAME · Σ durations` samples, or `None` when every
    /// gain is 1.
    pub fn gain_curve(&self, durations: &[usize]) -> Option<Vec<f32>> {
        if !self.has_gain() {
            return None;
        }
        let total: usize = durations.iter().sum::<usize>() * SAMPLES_PER_FRAME;
        let mut step = Vec::with_capacity(total);
        for (p, &d) in durations.iter().enumerate() {
            let a = self.controls_at(p).map_or(1.0, amplitude);
            step.extend(std::iter::repeat_n(a, d * SAMPLES_PER_FRAME));
        }
        // A moving average over the ramp width turns each step into a linear ramp centred on the boundary.
        let half = ramp_half_width(RAMP_MS, 1000.0 / crate::SAMPLE_RATE as f32);
        Some(moving_average(&step, half))
    }
}

/// The linear amplitude of a control set's volume.
pub fn amplitude(c: &Controls) -> f32 {
    match c.volume {
        Volume::Silent => 0.0,
        v => {
            let a = v.amplitude();
            if a.is_finite() { a } else { 1.0 }
        }
    }
}

fn ramp_half_width(ramp_ms: f32, sample_ms: f32) -> usize {
    ((ramp_ms / sample_ms) / 2.0).round().max(1.0) as usize
}

/// Box filter of width `2·half + 1` with edge clamping, in O(n) through prefix sums (f64 for exactness).
fn moving_average(x: &[f32], half: usize) -> Vec<f32> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0f64);
    for &v in x {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + f64::from(v));
    }
    let width = (2 * half + 1) as f64;
    (0..n)
        .map(|i| {
            // Clamped edges: the values beyond each end repeat the end value.
            let lo = i as isize - half as isize;
            let hi = i + half;
            let mut s = prefix[(hi + 1).min(n)] - prefix[lo.max(0) as usize];
            if lo < 0 {
                s += f64::from(x[0]) * (-lo) as f64;
            }
            if hi >= n {
                s += f64::from(x[n - 1]) * (hi + 1 - n) as f64;
            }
            (s / width) as f32
        })
        .collect()
}

/// A contour's F0 at segment time `pos`: each point's transform applied to `f`, interpolated linearly between
/// the two points around `pos` (held flat before the first and after the last).
fn contour_at(points: &[warble_ssml::ContourPoint], pos: f32, f: f32, baseline: f32) -> f32 {
    let apply = |t: &PitchTransform| t.apply(f, baseline);
    let Some(first) = points.first() else { return f };
    if pos <= first.position {
        return apply(&first.pitch);
    }
    for w in points.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if pos <= b.position {
            let span = b.position - a.position;
            let t = if span > 0.0 { (pos - a.position) / span } else { 1.0 };
            return apply(&a.pitch) + (apply(&b.pitch) - apply(&a.pitch)) * t;
        }
    }
    points.last().map_or(f, |p| apply(&p.pitch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use warble_ssml::{ContourPoint, DurationTarget, PitchChange, SegmentContour};

    fn with(f: impl FnOnce(&mut Controls)) -> Controls {
        let mut c = Controls::default();
        f(&mut c);
        c
    }

    fn two_sets(second: Controls, n: usize, split: usize) -> ChunkControls {
        ChunkControls {
            owner: (0..n).map(|i| usize::from(i >= split)).collect(),
            sets: vec![ControlSet::new(Controls::default()), ControlSet::new(second)],
            duration_targets: Vec::new(),
        }
    }

    #[test]
    fn neutral_controls_keep_the_reference_rounding() {
        let expected = [1.5, 2.5, 0.2, 3.49, 7.0];
        let c = ChunkControls::uniform(3, Controls::default());
        assert_eq!(c.durations(&expected), warble_acoustic::prosody::round_durations(&expected));
        assert!(c.gain_curve(&[1, 2]).is_none());
    }

    #[test]
    fn rate_scales_a_span_to_within_one_frame() {
        // 40 symbols; the last 20 at rate 1.5. Their total must be Σe/1.5 within one frame.
        let expected: Vec<f32> = (0..42).map(|i| 2.0 + (i % 5) as f32 * 0.37).collect();
        let c = two_sets(with(|c| c.rate = 1.5), 40, 20);
        let d = c.durations(&expected);
        let exact: f32 = expected[21..].iter().sum::<f32>() / 1.5;
        let got: usize = d[21..].iter().sum();
        assert!((got as f32 - exact).abs() <= 1.0, "{got} vs {exact}");
        assert_eq!(&d[..21], &warble_acoustic::prosody::round_durations(&expected[..21])[..]);
        assert!(d.iter().all(|&x| x >= 1));
    }

    #[test]
    fn duration_groups_hit_their_target() {
        let expected = vec![3.0f32; 12];
        let mut c = two_sets(with(|c| c.duration = Some(DurationTarget { group: 7, total_ms: 1000 })), 10, 4);
        c.duration_targets.push((7, 40.0));
        let d = c.durations(&expected);
        // Positions 5..12 (symbols 4..10 and the trailing pad) belong to the group.
        assert_eq!(d[5..].iter().sum::<usize>(), 40);
    }

    #[test]
    fn pitch_shift_moves_voiced_samples_only_and_ramps() {
        let durations = vec![1usize, 10, 10, 1];
        let mut f0 = vec![200.0f32; 44];
        f0[0] = 0.0;
        let c = two_sets(with(|c| c.pitch = PitchTransform::IDENTITY.then(PitchChange::Semitones(12.0))), 2, 1);
        c.transform_f0(&mut f0, &durations);
        assert_eq!(f0[0], 0.0);
        assert!((f0[5] - 200.0).abs() < 1e-3);
        assert!((f0[35] - 400.0).abs() < 1e-3);
        // At the boundary (sample 22) the value is between the two.
        assert!(f0[22] > 200.0 && f0[22] < 400.0, "{}", f0[22]);
    }

    #[test]
    fn contour_interpolates_over_the_span() {
        let up = PitchTransform::IDENTITY.then(PitchChange::Semitones(12.0));
        let contour = SegmentContour {
            points: vec![
                ContourPoint { position: 0.0, pitch: PitchTransform::IDENTITY },
                ContourPoint { position: 1.0, pitch: up },
            ],
            span: (0.0, 1.0),
        };
        let c = ChunkControls::uniform(1, with(|c| c.contour = Some(contour)));
        let durations = vec![0usize, 50, 0];
        let mut f0 = vec![100.0f32; 100];
        c.transform_f0(&mut f0, &durations);
        assert!((f0[0] - 100.0).abs() < 1.0 && (f0[99] - 200.0).abs() < 1.0);
        assert!(f0.windows(2).all(|w| w[1] >= w[0] - 1e-3));
        assert!((f0[50] - 150.0).abs() < 2.0, "{}", f0[50]);
    }

    #[test]
    fn gain_ramps_linearly_across_the_boundary() {
        let c = two_sets(with(|c| c.volume = Volume::Silent), 2, 1);
        let g = c.gain_curve(&[1, 2, 2, 1]).unwrap();
        assert_eq!(g.len(), 6 * SAMPLES_PER_FRAME);
        let boundary = 3 * SAMPLES_PER_FRAME;
        assert_eq!(g[0], 1.0);
        assert_eq!(g[g.len() - 1], 0.0);
        assert!((g[boundary] - 0.5).abs() < 0.01);
        let half = ramp_half_width(RAMP_MS, 1000.0 / 24000.0);
        assert_eq!(g[boundary - half - 1], 1.0);
        assert!(g[boundary + half + 1].abs() < 1e-6);
    }
}
