//! Recognising neuron models in normal forms.
//!
//! | normal form of a root (h: its own previous value) | population |
//! |---|---|
//! | `a·h + c·act(z)`, act relu or clamp, c > 0, 0 ≤ a < 1 | `sigma_delta` (α = a, inputs z scaled by c/(1−a)) |
//! | `a·h + z` (z linear) | `li` (α_mem = a) |
//! | `heaviside(z)` | `lif` with α_mem = 0, threshold 0 |
//! | the three states of Yin's ALIF (b, u, s) | `alif` |
//! | products of gates (LSTM/GRU) | an error, or with `--approximate lstm=sfa`, `alif` |
//!
//! `z` is linear: matrices times signals, signals, constant vectors and a
//! constant.

use snn_ir::{Act, NodeId};

use super::normal::{Affine, Func, Leaf, Term, describe};

/// How a root becomes a population.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// `sigma_delta` with the given activation; inputs `input · k`.
    SigmaDelta {
        alpha: f64,
        act: Act,
        k: f64,
        input: Affine,
    },
    /// `li` with retention `alpha`; inputs as they are.
    Li { alpha: f64, input: Affine },
    /// A memoryless threshold: `lif` with α_mem = 0 and threshold 0.
    Threshold { input: Affine },
    /// Yin's adaptive LIF; `u` and `b` are the roots of the membrane and
    /// adaptation states, read through probes.
    Alif {
        alpha: f64,
        rho: f64,
        beta: f64,
        b0: f64,
        input: Affine,
        u: usize,
        b: usize,
    },
    /// A gated (LSTM) cell approximated by adaptive neurons.
    Sfa { input: Affine },
    /// Read through another root's population (`probe` of it, or the same
    /// population).
    PartOf {
        root: usize,
        probe: Option<snn_ir::ProbeVar>,
    },
}

/// Why a root does not map.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmapped {
    pub message: String,
    pub help: String,
}

fn unmapped(message: impl Into<String>, help: impl Into<String>) -> Unmapped {
    Unmapped {
        message: message.into(),
        help: help.into(),
    }
}

/// A root: its normal form and, for a state's update, the state.
pub struct RootForm<'a> {
    pub form: &'a Affine,
    pub state: Option<NodeId>,
}

/// Splits off the coefficient of the state's own previous value.
pub fn self_term(form: &Affine, state: Option<NodeId>) -> (f64, Affine) {
    let mut rest = form.clone();
    let mut a = 0.0;
    if let Some(s) = state {
        rest.terms.retain(|(c, t)| {
            if *t == Term::Signal(Leaf::Prev(s)) {
                a += c;
                false
            } else {
                true
            }
        });
    }
    (a, rest)
}

/// Whether every term is linear (signals, matrix products, vectors).
pub fn linear_problem(a: &Affine) -> Option<String> {
    a.terms.iter().find_map(|(_, t)| match t {
        Term::Signal(_) | Term::MatVec(..) | Term::Vector(_) => None,
        other => Some(describe(other)),
    })
}

/// The plan for a root on its own (not part of a group).
pub fn classify(r: &RootForm) -> Result<Plan, Unmapped> {
    let (a, rest) = self_term(r.form, r.state);
    if r.form.has(&|t| matches!(t, Term::Product(..))) {
        let gated = r
            .form
            .has(&|t| matches!(t, Term::Call(Func::Sigmoid | Func::Tanh, _)));
        return Err(if gated {
            unmapped(
                "gates that multiply two signals (an LSTM or GRU cell) cannot be mapped to neurons",
                "neuromorphic synapses add weighted inputs; they cannot multiply one signal by another. \
                 Pass `--approximate lstm=sfa` to replace the cell by spike-frequency-adaptation neurons \
                 (Plank et al. 2021) and retrain, or write the cell without gates",
            )
        } else {
            unmapped(
                "a product of two changing values cannot be mapped to neurons",
                "synapses multiply a signal by a constant weight only",
            )
        });
    }
    let calls: Vec<&(f64, Term)> = rest
        .terms
        .iter()
        .filter(|(_, t)| matches!(t, Term::Call(..)))
        .collect();
    if calls.is_empty() {
        if let Some(p) = linear_problem(&rest) {
            return Err(unmapped(
                format!("{p} cannot be mapped to a neuron input"),
                "write inputs as `W @ x` sums",
            ));
        }
        return Ok(Plan::Li {
            alpha: a,
            input: rest,
        });
    }
    if calls.len() > 1 || rest.terms.len() > 1 || rest.constant != 0.0 {
        return Err(unmapped(
            "a neuron applies one activation to a weighted sum; this update adds other terms outside its activation",
            "move constants and sums inside the activation, or give each activation its own `state` or `let`",
        ));
    }
    let (c, Term::Call(f, inner)) = calls[0] else {
        unreachable!("filtered to calls")
    };
    if let Some(p) = linear_problem(inner) {
        return Err(unmapped(
            format!("{p} inside `{f}` cannot be mapped to a neuron input"),
            "give inner activations their own name with `let`, and write inputs as `W @ x` sums",
        ));
    }
    match f {
        Func::Heaviside => {
            if a != 0.0 || *c != 1.0 {
                return Err(unmapped(
                    "a spike (`heaviside`) must be the whole new value, not scaled or mixed with the previous one",
                    "write `s = heaviside(v - threshold);` and keep the membrane in its own state",
                ));
            }
            Ok(Plan::Threshold {
                input: (**inner).clone(),
            })
        }
        Func::Relu | Func::Clamp(..) => {
            if !(0.0..1.0).contains(&a) {
                return Err(unmapped(
                    format!(
                        "the previous value is kept with factor {a}; a low-pass neuron needs 0 <= a < 1"
                    ),
                    "write the update as `a*h + (1 - a)*act(...)` with a below 1",
                ));
            }
            if *c <= 0.0 {
                return Err(unmapped(
                    format!(
                        "the activation is scaled by {c}; a neuron's activation must have a positive gain"
                    ),
                    "fold the sign into the weights that read this value",
                ));
            }
            // Written as `a*h + (1 - a)*act(...)` the gain is 1 up to the
            // rounding of `1 - a` in f32; keep the weights untouched then.
            let k = c / (1.0 - a);
            let k = if close(k, 1.0) { 1.0 } else { k };
            let act = match *f {
                Func::Relu => Act::Relu,
                Func::Clamp(lo, hi) => Act::Clamp {
                    lo: (lo as f64 * k) as f32,
                    hi: (hi as f64 * k) as f32,
                },
                _ => unreachable!("matched above"),
            };
            Ok(Plan::SigmaDelta {
                alpha: a,
                act,
                k,
                input: (**inner).clone(),
            })
        }
        Func::Tanh | Func::Sigmoid | Func::Exp => Err(unmapped(
            format!("the activation `{f}` has no neuron model"),
            "sigma-delta neurons implement relu, clamp (e.g. ReLU6) and identity; retrain with one of those",
        )),
    }
}

/// Relative closeness for coefficients derived from the same constants.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Recognises Yin's ALIF written as three states `b`, `u`, `s`:
/// ```text
/// b = rho*b + (1 - rho)*s
/// u = alpha*u + (1 - alpha)*(inputs) - (b0 + beta*b_new)*s
/// s = heaviside(u_new - (b0 + beta*b_new))
/// ```
/// `roots[i]` gives each root's form, state and expression node. Returns the
/// plan for the spike root `s` with the indices of `u` and `b`.
pub fn alif(s: usize, roots: &[(RootForm, NodeId)]) -> Option<Plan> {
    let (sf, s_expr) = &roots[s];
    let s_state = sf.state?;
    if sf.form.terms.len() != 1 || sf.form.constant != 0.0 {
        return None;
    }
    let (1.0, Term::Call(Func::Heaviside, inner)) = &sf.form.terms[0] else {
        return None;
    };
    // inner = u_new − beta·b_new − b0
    let root_of = |n: NodeId| roots.iter().position(|(_, e)| *e == n);
    let mut u = None;
    let mut b = None;
    let mut beta = 0.0;
    for (c, t) in &inner.terms {
        let Term::Signal(Leaf::Root(e)) = t else {
            return None;
        };
        let i = root_of(*e)?;
        if close(*c, 1.0) && u.is_none() && roots[i].0.state.is_some() && *c > 0.0 {
            u = Some(i);
        } else {
            b = Some(i);
            beta = -c;
        }
    }
    let (u, b) = (u?, b?);
    let b0 = -inner.constant;
    let (b_form, b_expr) = (&roots[b].0, roots[b].1);
    let (u_form, _) = (&roots[u].0, roots[u].1);
    // b = rho*b + (1 - rho)*s_prev
    let (rho, b_rest) = self_term(b_form.form, b_form.state);
    if b_rest.terms.len() != 1 || b_rest.constant != 0.0 {
        return None;
    }
    if b_rest.terms[0].1 != Term::Signal(Leaf::Prev(s_state))
        || !close(b_rest.terms[0].0, 1.0 - rho)
    {
        return None;
    }
    // u = alpha*u + (1 - alpha)*inputs - (b0 + beta*b_new)*s_prev
    let (alpha, u_rest) = self_term(u_form.form, u_form.state);
    if alpha >= 1.0 {
        return None;
    }
    let mut input = Affine {
        constant: u_rest.constant,
        terms: vec![],
    };
    let mut reset_seen = false;
    for (c, t) in &u_rest.terms {
        match t {
            Term::Product(x, y) if close(*c, -1.0) => {
                let (theta, spike) = if is_signal(y, Leaf::Prev(s_state)) {
                    (x, y)
                } else {
                    (y, x)
                };
                if !is_signal(spike, Leaf::Prev(s_state)) {
                    return None;
                }
                let theta_ok = close(theta.constant, b0)
                    && theta.terms.len() == 1
                    && theta.terms[0].1 == Term::Signal(Leaf::Root(b_expr))
                    && close(theta.terms[0].0, beta);
                if !theta_ok {
                    return None;
                }
                reset_seen = true;
            }
            Term::Signal(_) | Term::MatVec(..) | Term::Vector(_) => {
                input.terms.push((*c / (1.0 - alpha), t.clone()))
            }
            _ => return None,
        }
    }
    if !reset_seen {
        return None;
    }
    input.constant /= 1.0 - alpha;
    let _ = s_expr;
    Some(Plan::Alif {
        alpha,
        rho,
        beta,
        b0,
        input,
        u,
        b,
    })
}

fn is_signal(a: &Affine, l: Leaf) -> bool {
    a.constant == 0.0 && a.terms.len() == 1 && a.terms[0] == (1.0, Term::Signal(l))
}

/// The input of a gated cell's candidate: the linear argument of a `tanh`
/// found in one of its products (the LSTM's `g` gate).
pub fn candidate_input(form: &Affine) -> Option<Affine> {
    fn find(a: &Affine) -> Option<Affine> {
        for (_, t) in &a.terms {
            match t {
                Term::Call(Func::Tanh, inner)
                    if linear_problem(inner).is_none()
                        && inner
                            .terms
                            .iter()
                            .any(|(_, t)| matches!(t, Term::MatVec(..))) =>
                {
                    return Some((**inner).clone());
                }
                Term::Call(_, x) => {
                    if let Some(f) = find(x) {
                        return Some(f);
                    }
                }
                Term::Product(x, y) | Term::Quotient(x, y) => {
                    if let Some(f) = find(x).or_else(|| find(y)) {
                        return Some(f);
                    }
                }
                _ => {}
            }
        }
        None
    }
    find(form)
}

#[cfg(test)]
mod tests {
    use super::super::lang::{Cell, Limits, simplify};
    use super::super::normal::normalize;
    use super::*;
    use egg::RecExpr;

    fn nf(s: &str) -> Affine {
        let e: RecExpr<Cell> = s.parse().unwrap();
        normalize(&simplify(&e, &mut Limits::default()))
    }

    fn state_root(s: &str) -> Result<Plan, Unmapped> {
        let form = nf(s);
        classify(&RootForm {
            form: &form,
            state: Some(NodeId(1)),
        })
    }

    #[test]
    fn lprnn_cell_is_a_lowpass_sigma_delta() {
        // h = 0.8 h + 0.2 clamp(W x + U h + b, 0, 6)
        let p =
            state_root("(+ (* 0.8 s1) (* (- 1 0.8) (clamp (+ (+ (@ w0 x2) (@ w3 s1)) c4) 0 6)))")
                .unwrap();
        let Plan::SigmaDelta {
            alpha,
            act,
            k,
            input,
        } = p
        else {
            panic!("{p:?}")
        };
        assert_eq!(alpha, 0.8);
        assert!(close(k, 1.0));
        assert_eq!(
            act,
            Act::Clamp {
                lo: 6.0 * 0.0,
                hi: (6.0 * k) as f32
            }
        );
        assert_eq!(input.terms.len(), 3);
    }

    #[test]
    fn time_constant_form_gives_the_same_neuron() {
        // h + (relu(W x) - h)/5 = 0.8 h + 0.2 relu(W x)
        let Plan::SigmaDelta { alpha, act, k, .. } =
            state_root("(+ s1 (/ (- (relu (@ w0 x2)) s1) 5))").unwrap()
        else {
            panic!()
        };
        assert!(close(alpha, 0.8));
        assert_eq!(act, Act::Relu);
        assert!(close(k, 1.0));
    }

    #[test]
    fn scaled_activation_folds_into_weights() {
        // h = 0.5 h + 2 relu(W x): k = 2 / (1 - 0.5) = 4
        let Plan::SigmaDelta { k, .. } =
            state_root("(+ (* 0.5 s1) (* 2 (relu (@ w0 x2))))").unwrap()
        else {
            panic!()
        };
        assert_eq!(k, 4.0);
    }

    #[test]
    fn elman_cell_has_no_memory() {
        let Plan::SigmaDelta { alpha, k, .. } =
            state_root("(relu (+ (@ w0 x2) (@ w3 s1)))").unwrap()
        else {
            panic!()
        };
        assert_eq!((alpha, k), (0.0, 1.0));
    }

    #[test]
    fn leaky_linear_readout_is_li() {
        let p = state_root("(+ (* 0.9 s1) (@ w0 x2))").unwrap();
        assert!(matches!(p, Plan::Li { alpha, .. } if alpha == 0.9));
    }

    #[test]
    fn refusals_say_why() {
        let e = state_root("(* (sigmoid (@ w0 x2)) (tanh (@ w3 x2)))").unwrap_err();
        assert!(
            e.message.starts_with("gates that multiply two signals"),
            "{}",
            e.message
        );
        let e = state_root("(tanh (@ w0 x2))").unwrap_err();
        assert_eq!(e.message, "the activation `tanh` has no neuron model");
        let e = state_root("(+ (relu (@ w0 x2)) c4)").unwrap_err();
        assert!(
            e.message
                .contains("adds other terms outside its activation"),
            "{}",
            e.message
        );
        let e = state_root("(+ s1 (relu (@ w0 x2)))").unwrap_err();
        assert!(e.message.contains("0 <= a < 1"), "{}", e.message);
    }
}
