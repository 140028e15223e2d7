//! A multinomial logistic regression over sentence embeddings: one class per agent plus one
//! "none" class for what customers write that asks for nothing (greetings, thanks, questions,
//! negated requests). It is trained from the agents' own examples, so a new or edited agent is
//! detectable as soon as it is saved, with no labelled tickets and no GPU.

/// Sharpness of the softmax: e5 cosine similarities live in a narrow band (about 0.7 to 0.95),
/// so logits are scaled before the softmax, as in contrastive training.
const TEMPERATURE: f32 = 10.0;
const EPOCHS: usize = 400;
const LEARNING_RATE: f32 = 0.5;
const L2: f32 = 1e-3;

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
    /// is `< classes`. Full-batch gradient descent: a few hundred samples train in well under a
    /// second, deterministically (same samples, same model).
    pub fn train(samples: &[(Vec<f32>, usize)], classes: usize) -> Self {
        let dim = samples.first().map_or(0, |(v, _)| v.len());
        let mut model =
            Self { dim, classes, weights: vec![0.0; classes * dim], bias: vec![0.0; classes] };
        if samples.is_empty() || classes == 0 {
            return model;
        }
        let n = samples.len() as f32;
        let mut grad_w = vec![0.0f32; classes * dim];
        let mut grad_b = vec![0.0f32; classes];
        for _ in 0..EPOCHS {
            grad_w.iter_mut().for_each(|g| *g = 0.0);
            grad_b.iter_mut().for_each(|g| *g = 0.0);
            for (x, y) in samples {
                let p = model.probabilities(x);
                for c in 0..classes {
                    let err = (p[c] - if c == *y { 1.0 } else { 0.0 }) * TEMPERATURE / n;
                    grad_b[c] += err;
                    let row = &mut grad_w[c * dim..(c + 1) * dim];
                    row.iter_mut().zip(x).for_each(|(g, xi)| *g += err * xi);
                }
            }
            for (w, g) in model.weights.iter_mut().zip(&grad_w) {
                *w -= LEARNING_RATE * (g + L2 * *w);
            }
            for (b, g) in model.bias.iter_mut().zip(&grad_b) {
                *b -= LEARNING_RATE * g;
            }
        }
        model
    }

    /// The probability of each class for one embedding (they sum to 1).
    pub fn probabilities(&self, x: &[f32]) -> Vec<f32> {
        let logits: Vec<f32> = (0..self.classes)
            .map(|c| {
                let row = &self.weights[c * self.dim..(c + 1) * self.dim];
                (row.iter().zip(x).map(|(w, xi)| w * xi).sum::<f32>() + self.bias[c]) * TEMPERATURE
            })
            .collect();
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        exp.into_iter().map(|e| e / sum).collect()
    }
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
    fn cosine_is_scale_free() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
