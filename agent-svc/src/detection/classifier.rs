//! A multinomial logistic regression over sentence embeddings: one class per agent plus one
//! "none" class for what customers write that asks for nothing (greetings, thanks, questions,
//! negated requests). It is trained from the agents' own examples, so a new or edited agent is
//! detectable as soon as it is saved, with no labelled tickets and no GPU.
//!
//! e5 embeddings share a large common direction (any two sentences have a cosine of 0.7 or
//! more), which makes plain gradient descent on them ill-conditioned: it oscillated and never
//! fitted the examples. So the vectors are centred on the training mean and scaled to unit mean
//! norm first, and the loss is minimised with Nesterov's accelerated gradient at the step size
//! its smoothness allows. Centring and scaling are folded back into the weights, so scoring is a
//! plain `W·x + b`.

/// L2 penalty on the weights (of the centred, scaled inputs); chosen by cross-validation on the
/// evaluation set (`agent-eval --folds`), a wider range changed F1 by less than 0.01.
const L2: f32 = 3e-4;
/// Enough for the accelerated method to converge on a few thousand examples (500 epochs gave
/// the same model to three decimals).
const EPOCHS: usize = 200;

#[derive(Debug, Clone)]
pub struct Classifier {
    dim: usize,
    classes: usize,
    /// Row-major `classes × dim`.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Classifier {
    /// Trains on `(embedding, class)` pairs; every embedding has the same length and every class
    /// is `< classes`. Full-batch and deterministic: same samples, same model.
    pub fn train(samples: &[(Vec<f32>, usize)], classes: usize) -> Self {
        let dim = samples.first().map_or(0, |(v, _)| v.len());
        let mut model =
            Self { dim, classes, weights: vec![0.0; classes * dim], bias: vec![0.0; classes] };
        let samples: Vec<&(Vec<f32>, usize)> =
            samples.iter().filter(|(v, c)| v.len() == dim && *c < classes).collect();
        if samples.is_empty() || classes == 0 || dim == 0 {
            return model;
        }
        let n = samples.len();
        let mut mean = vec![0.0f32; dim];
        for (x, _) in &samples {
            mean.iter_mut().zip(x).for_each(|(m, xi)| *m += xi / n as f32);
        }
        let spread = samples
            .iter()
            .map(|(x, _)| x.iter().zip(&mean).map(|(a, m)| (a - m) * (a - m)).sum::<f32>())
            .sum::<f32>()
            / n as f32;
        let scale = if spread > 0.0 { spread.sqrt() } else { 1.0 };
        let xs: Vec<f32> = samples
            .iter()
            .flat_map(|(x, _)| x.iter().zip(&mean).map(|(a, m)| (a - m) / scale))
            .collect();
        let ys: Vec<usize> = samples.iter().map(|(_, c)| *c).collect();

        // The softmax loss is (λmax(XᵀX/n) + 1)/2-smooth (the 1 for the bias), so 1/that is a
        // step that cannot diverge.
        let smooth = 0.5 * (largest_eigenvalue(&xs, n, dim) + 1.0) + L2;
        let step = 1.0 / smooth;

        let (mut w, mut b) = (vec![0.0f32; classes * dim], vec![0.0f32; classes]);
        let (mut w_prev, mut b_prev) = (w.clone(), b.clone());
        let (mut gw, mut gb) = (vec![0.0f32; classes * dim], vec![0.0f32; classes]);
        let mut logits = vec![0.0f32; classes];
        for epoch in 0..EPOCHS {
            let momentum = epoch as f32 / (epoch as f32 + 3.0);
            // The gradient is taken at the look-ahead point.
            let look_w: Vec<f32> =
                w.iter().zip(&w_prev).map(|(a, p)| a + momentum * (a - p)).collect();
            let look_b: Vec<f32> =
                b.iter().zip(&b_prev).map(|(a, p)| a + momentum * (a - p)).collect();
            gw.iter_mut().for_each(|g| *g = 0.0);
            gb.iter_mut().for_each(|g| *g = 0.0);
            for (i, &y) in ys.iter().enumerate() {
                let x = &xs[i * dim..(i + 1) * dim];
                for (c, l) in logits.iter_mut().enumerate() {
                    *l = dot(&look_w[c * dim..(c + 1) * dim], x) + look_b[c];
                }
                softmax(&mut logits);
                for (c, p) in logits.iter().enumerate() {
                    let err = (p - if c == y { 1.0 } else { 0.0 }) / n as f32;
                    gb[c] += err;
                    let row = &mut gw[c * dim..(c + 1) * dim];
                    row.iter_mut().zip(x).for_each(|(g, xi)| *g += err * xi);
                }
            }
            w_prev = std::mem::replace(
                &mut w,
                look_w.iter().zip(&gw).map(|(l, g)| l - step * (g + L2 * l)).collect(),
            );
            b_prev = std::mem::replace(
                &mut b,
                look_b.iter().zip(&gb).map(|(l, g)| l - step * g).collect(),
            );
        }
        // Fold the centring and scaling into the model: W·((x − μ)/s) + b = (W/s)·x + b − (W/s)·μ.
        for c in 0..classes {
            let row = &mut w[c * dim..(c + 1) * dim];
            row.iter_mut().for_each(|v| *v /= scale);
            b[c] -= dot(row, &mean);
        }
        model.weights = w;
        model.bias = b;
        model
    }

    /// The probability of each class for one embedding (they sum to 1).
    pub fn probabilities(&self, x: &[f32]) -> Vec<f32> {
        let mut logits: Vec<f32> = (0..self.classes)
            .map(|c| dot(&self.weights[c * self.dim..(c + 1) * self.dim], x) + self.bias[c])
            .collect();
        softmax(&mut logits);
        logits
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for l in logits.iter_mut() {
        *l = (*l - max).exp();
        sum += *l;
    }
    logits.iter_mut().for_each(|l| *l /= sum);
}

/// The largest eigenvalue of `XᵀX/n` (`x` row-major `n × dim`) by power iteration.
fn largest_eigenvalue(x: &[f32], n: usize, dim: usize) -> f32 {
    let mut v = vec![1.0f32 / (dim as f32).sqrt(); dim];
    let mut eigen = 0.0;
    for _ in 0..30 {
        let mut next = vec![0.0f32; dim];
        for row in x.chunks_exact(dim) {
            let p = dot(row, &v);
            next.iter_mut().zip(row).for_each(|(a, r)| *a += p * r / n as f32);
        }
        eigen = next.iter().map(|a| a * a).sum::<f32>().sqrt();
        if eigen == 0.0 {
            return 0.0;
        }
        v = next.into_iter().map(|a| a / eigen).collect();
    }
    eigen
}

/// Cosine similarity of two vectors (0 for a zero vector).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn it_separates_clusters_and_is_deterministic() {
        // Three clusters around three directions, with some spread.
        let mut samples = Vec::new();
        for i in 0..10 {
            let e = i as f32 * 0.02;
            samples.push((unit(&[1.0, e, 0.1, 0.0]), 0));
            samples.push((unit(&[e, 1.0, 0.0, 0.1]), 1));
            samples.push((unit(&[0.1, 0.0, 1.0, e]), 2));
        }
        let model = Classifier::train(&samples, 3);
        for (probe, class) in
            [([0.9, 0.1, 0.0, 0.0], 0), ([0.0, 0.8, 0.2, 0.0], 1), ([0.0, 0.1, 0.9, 0.1], 2)]
        {
            let p = model.probabilities(&unit(&probe));
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            let best = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            assert_eq!(best, class, "{p:?}");
            assert!(p[class] > 0.6, "{p:?}");
        }
        let again = Classifier::train(&samples, 3);
        assert_eq!(
            model.probabilities(&unit(&[0.3, 0.3, 0.3, 0.1])),
            again.probabilities(&unit(&[0.3, 0.3, 0.3, 0.1]))
        );
    }

    #[test]
    fn it_fits_clusters_that_share_a_dominant_direction() {
        // Like e5 vectors: every sample is mostly the same direction, the classes differ only in
        // small components. Centring is what makes these separable in few epochs.
        let mut samples = Vec::new();
        for i in 0..20 {
            let e = (i % 5) as f32 * 0.002;
            samples.push((unit(&[1.0, 0.05 + e, 0.0, e]), 0));
            samples.push((unit(&[1.0, 0.0, 0.05 + e, e]), 1));
            samples.push((unit(&[1.0, e, 0.0, 0.05]), 2));
        }
        let model = Classifier::train(&samples, 3);
        let correct = samples
            .iter()
            .filter(|(x, y)| {
                let p = model.probabilities(x);
                p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0 == *y
            })
            .count();
        assert_eq!(correct, samples.len());
    }

    #[test]
    fn empty_or_ragged_input_gives_a_neutral_model() {
        let model = Classifier::train(&[], 3);
        let p = model.probabilities(&[]);
        assert!(p.iter().all(|x| (x - 1.0 / 3.0).abs() < 1e-6), "{p:?}");
    }

    #[test]
    fn cosine_is_scale_free() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
