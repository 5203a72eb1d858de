//! `fold`: rewrites cell-level algebra into neuron populations.
//!
//! 1. Find the *roots*: the expression that gives a state its new value, a
//!    nonlinear value that a matrix reads (a hidden layer), and an algebra
//!    value an output or a projection reads. States and delays are the
//!    fixed skeleton; only the pure expression of each root enters an
//!    e-graph (`lang.rs`), where one-way rules bring it to a canonical sum
//!    of scaled terms with constants folded into weights.
//! 2. Normalise the extracted expression (`normal.rs`) and recognise a
//!    neuron model in it (`classify.rs`): low-pass ReLU/clamp cells become
//!    `sigma_delta` populations, linear leaky readouts `li`, Yin's ALIF
//!    `alif`; gated (LSTM) cells are refused, or approximated by adaptive
//!    neurons when asked.
//! 3. Make one population per root, connect it with projections built from
//!    the matrix terms (a state's previous value becomes one step of delay),
//!    and point every reader of the old algebra at the population. The old
//!    algebra is left for `cleanup`.
//!
//! The result computes exactly what the algebra did (the reference gives the
//! same outputs), except with `--approximate lstm=sfa`. Anything a spiking
//! chip would have to compute that is left over is an error at its span.

mod classify;
mod extract;
mod lang;
mod normal;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use snn_ir::tensor::{Init, Origin, Tensor};
use snn_ir::{
    Const, Delay, Graph, Model, ModelKind, NodeId, Op, ParamValue, Population, ProbeVar,
    Projection, Shape, TensorId,
};

use crate::manager::{Failed, PassCx, PassDiag};
use classify::{Plan, RootForm, Unmapped};
use normal::{Affine, Leaf, Term, is_algebra};

/// A place a value is computed: the root expression node, and the state it
/// updates (if any).
#[derive(Clone, Debug)]
struct Root {
    node: NodeId,
    state: Option<NodeId>,
}

pub fn fold_cells(g: &mut Graph, cx: &mut PassCx) -> Result<(), Failed> {
    let roots = find_roots(g);
    let root_set: HashSet<NodeId> = roots
        .iter()
        .filter(|r| is_algebra_node(g, r.node))
        .map(|r| r.node)
        .collect();
    let mut limits = lang::Limits::default();
    let mut forms = Vec::with_capacity(roots.len());
    for r in &roots {
        let form = if is_algebra_node(g, r.node) {
            let e = normal::to_egg(g, r.node, &root_set);
            cx.report
                .count("e-graph input nodes", e.as_ref().len() as u64);
            let simplified = lang::simplify(&e, &mut limits);
            normal::normalize(&simplified)
        } else {
            // A state updated with a plain copy of a signal.
            leaf_form(g, r.node)
        };
        forms.push(form);
    }
    cx.report.count("roots", roots.len() as u64);
    cx.report.count("e-graph iterations", limits.iterations);
    cx.report.count("node limit hits", limits.node_limit_hits);
    cx.report
        .count("iteration limit hits", limits.iteration_limit_hits);
    cx.report.count("time limit hits", limits.time_limit_hits);

    let plans = plan_roots(g, cx, &roots, &forms)?;
    build(g, cx, &roots, &plans)?;
    check_nothing_left(g, cx)
}

fn is_algebra_node(g: &Graph, n: NodeId) -> bool {
    is_algebra(g.op(n)) && !is_synapse(g, n)
}

/// A projection that feeds populations (a synapse), as opposed to `W @ x`
/// inside algebra.
fn is_synapse(g: &Graph, n: NodeId) -> bool {
    matches!(g.op(n), Op::Project(_))
        && g.users(n)
            .iter()
            .all(|(u, _)| matches!(g.op(*u), Op::Population(_)))
        && !g.users(n).is_empty()
}

fn leaf_form(g: &Graph, n: NodeId) -> Affine {
    let leaf = match g.op(n) {
        Op::State { .. } => Leaf::Prev(n),
        Op::Input { .. } => Leaf::Input(n),
        Op::Population(_) => Leaf::Population(n),
        Op::Probe(_) => Leaf::Probe(n),
        _ => Leaf::Root(n),
    };
    Affine {
        constant: 0.0,
        terms: vec![(1.0, Term::Signal(leaf))],
    }
}

/// Whether a `State` only delays a population (or probe) by one step: the
/// front end makes these for reads of a population before its declaration.
fn is_delay_of_population(g: &Graph, s: NodeId) -> bool {
    g.arg(s, 0)
        .is_some_and(|n| matches!(g.op(n), Op::Population(_) | Op::Probe(_)))
}

/// Every root, in node order (so populations are numbered predictably).
fn find_roots(g: &Graph) -> Vec<Root> {
    let mut roots: Vec<Root> = Vec::new();
    // A state's new value is a root once, as the state's.
    let mut seen: HashSet<NodeId> = g
        .nodes()
        .into_iter()
        .filter(|&n| matches!(g.op(n), Op::State { .. }) && !is_delay_of_population(g, n))
        .filter_map(|n| g.arg(n, 0))
        .collect();
    let mut add = |roots: &mut Vec<Root>, node: NodeId, state: Option<NodeId>| {
        if state.is_some() || seen.insert(node) {
            roots.push(Root { node, state });
        }
    };
    let algebra = |n: NodeId| is_algebra_node(g, n);
    for n in g.nodes() {
        match g.op(n) {
            Op::State { .. } if !is_delay_of_population(g, n) => {
                if let Some(next) = g.arg(n, 0) {
                    add(&mut roots, next, Some(n));
                }
            }
            Op::Output { .. } => {
                if let Some(a) = g.arg(n, 0).filter(|a| algebra(*a)) {
                    add(&mut roots, a, None);
                }
            }
            Op::Project(_) if is_synapse(g, n) => {
                if let Some(a) = g.arg(n, 0).filter(|a| algebra(*a)) {
                    add(&mut roots, a, None);
                }
            }
            _ => {}
        }
    }
    // Nonlinear values inside other roots' activations or under matrices
    // become roots of their own (hidden layers).
    let mut i = 0;
    while i < roots.len() {
        let r = roots[i].node;
        if algebra(r) {
            let mut found = Vec::new();
            let stop: HashSet<NodeId> = roots.iter().map(|x| x.node).filter(|&n| n != r).collect();
            inner_nonlinear(g, r, true, &mut found, &mut stop.clone());
            for n in found {
                if !roots.iter().any(|x| x.node == n) {
                    add(&mut roots, n, None);
                }
            }
        }
        i += 1;
    }
    // A state whose update is itself another root: keep the state's entry.
    roots.sort_by_key(|r| (r.node, r.state.is_none()));
    roots
}

/// Collects nonlinear nodes below `n` that must be values of their own: any
/// second activation on a path from the root, and any activation under a
/// matrix product. `seen` starts with the other roots, where the walk stops.
fn inner_nonlinear(
    g: &Graph,
    n: NodeId,
    top: bool,
    out: &mut Vec<NodeId>,
    seen: &mut HashSet<NodeId>,
) {
    if !seen.insert(n) {
        return;
    }
    let nonlinear = matches!(g.op(n), Op::Unary(f) if *f != snn_ir::UnaryFn::Neg)
        || matches!(g.op(n), Op::Clamp { .. });
    match g.op(n) {
        _ if nonlinear && !top => out.push(n),
        Op::Project(_) if !is_synapse(g, n) => {
            if let Some(src) = g.arg(n, 0)
                && is_algebra_node(g, src)
            {
                inner_nonlinear(g, src, false, out, seen);
            }
        }
        Op::Unary(_) | Op::Clamp { .. } | Op::Binary(_) => {
            // Below an activation nothing else may be an activation.
            let still_top = top && !nonlinear;
            for a in g.args(n) {
                if is_algebra_node(g, a) {
                    inner_nonlinear(g, a, still_top, out, seen);
                }
            }
        }
        _ => {}
    }
}

fn plan_roots(
    g: &Graph,
    cx: &mut PassCx,
    roots: &[Root],
    forms: &[Affine],
) -> Result<Vec<Plan>, Failed> {
    let mut plans: Vec<Option<Plan>> = vec![None; roots.len()];
    let pairs: Vec<(RootForm, NodeId)> = roots
        .iter()
        .zip(forms)
        .map(|(r, f)| {
            (
                RootForm {
                    form: f,
                    state: r.state,
                },
                r.node,
            )
        })
        .collect();
    // Yin's ALIF: three states read together.
    for i in 0..roots.len() {
        if plans[i].is_some() {
            continue;
        }
        if let Some(p @ Plan::Alif { u, b, .. }) = classify::alif(i, &pairs)
            && plans[u].is_none()
            && plans[b].is_none()
            && u != i
            && b != i
            && u != b
        {
            plans[u] = Some(Plan::PartOf {
                root: i,
                probe: Some(ProbeVar::V),
            });
            plans[b] = Some(Plan::PartOf {
                root: i,
                probe: Some(ProbeVar::B),
            });
            plans[i] = Some(p);
            cx.report.count("alif groups", 1);
        }
    }
    // Gated cells with --approximate lstm=sfa.
    if cx.options.approximate_lstm {
        plan_sfa(g, cx, roots, forms, &mut plans);
    }
    let mut failed = false;
    for (i, r) in roots.iter().enumerate() {
        if plans[i].is_some() {
            continue;
        }
        match classify::classify(&pairs[i].0) {
            Ok(p) => plans[i] = Some(p),
            Err(Unmapped { message, mut help }) => {
                if cx.options.approximate_lstm && forms[i].has(&|t| matches!(t, Term::Product(..)))
                {
                    // The approximation was asked for and could not apply:
                    // suggesting it again would go round in circles.
                    help = "`--approximate lstm=sfa` replaces a gated cell only when one of its \
                            products holds a candidate `tanh` of a weighted sum of signals (an \
                            LSTM's `g`); this cell has none (a GRU's candidate reads `r * h`, a \
                            product). Write the cell without gates"
                        .into();
                }
                let (span, what) = root_place(g, r);
                cx.error(
                    PassDiag::error("E0430", format!("cannot fold {what}: {message}"))
                        .at(span, "this expression")
                        .help(help),
                );
                failed = true;
            }
        }
    }
    if failed {
        return Err(Failed);
    }
    Ok(plans
        .into_iter()
        .map(|p| p.expect("every root planned or failed"))
        .collect())
}

/// Gated roots become adaptive populations fed by their candidate (`tanh`)
/// input; a gated root whose candidate reads another gated root shares its
/// population.
fn plan_sfa(
    g: &Graph,
    cx: &mut PassCx,
    roots: &[Root],
    forms: &[Affine],
    plans: &mut [Option<Plan>],
) {
    let gated: Vec<usize> = (0..roots.len())
        .filter(|&i| plans[i].is_none() && forms[i].has(&|t| matches!(t, Term::Product(..))))
        .collect();
    let mut owner: HashMap<usize, usize> = HashMap::new();
    for &i in &gated {
        if let Some(input) = classify::candidate_input(&forms[i]) {
            plans[i] = Some(Plan::Sfa { input });
            owner.insert(i, i);
            let (span, what) = root_place(g, &roots[i]);
            cx.warn(
                PassDiag::warning("W0431", format!("{what} is approximated by spike-frequency-adaptation neurons"))
                    .at(span, "an LSTM cell")
                    .help("the weights were trained for the gated cell: retrain the network with the adaptive neurons (Plank et al. 2021)"),
            );
        }
    }
    for &i in &gated {
        if plans[i].is_some() {
            continue;
        }
        // Reads another gated root (h = o * tanh(c)): same population.
        let mut leaves = Vec::new();
        forms[i].leaves(&mut leaves);
        let target = leaves.iter().find_map(|l| match l {
            Leaf::Root(n) | Leaf::Prev(n) => gated.iter().copied().find(|&j| {
                plans[j].is_some() && (roots[j].node == *n || roots[j].state == Some(*n))
            }),
            _ => None,
        });
        if let Some(j) = target.and_then(|j| owner.get(&j).copied()) {
            plans[i] = Some(Plan::PartOf {
                root: j,
                probe: None,
            });
        }
    }
}

/// The span and a description of a root, for messages.
fn root_place(g: &Graph, r: &Root) -> (Option<snn_ir::Span>, String) {
    match r.state {
        Some(s) => (
            g.span(r.node).or(g.span(s)),
            format!("the update of state {}", g.label(s)),
        ),
        // An unnamed value is the expression the message points at.
        None => match (g.name(r.node), g.span(r.node)) {
            (None, Some(span)) => (Some(span), "this value".into()),
            (_, span) => (span, format!("the value {}", g.label(r.node))),
        },
    }
}

/// The population (or probe) standing for each root, after `build`.
struct Made {
    node: Vec<Option<NodeId>>,
}

fn build(g: &mut Graph, cx: &mut PassCx, roots: &[Root], plans: &[Plan]) -> Result<(), Failed> {
    // 1. Populations, so that every leaf has a node to read.
    let mut made = Made {
        node: vec![None; roots.len()],
    };
    for (i, (r, p)) in roots.iter().zip(plans).enumerate() {
        if matches!(p, Plan::PartOf { .. }) {
            continue;
        }
        let size = g.shape(r.node).len();
        let size = match r.state {
            Some(s) => g.shape(s).len(),
            None => size,
        };
        let model = model_of(p);
        let pop = g.add(Op::Population(Population { size, model }), &[]);
        let output_name = g.users(r.node).iter().find_map(|(u, _)| match g.op(*u) {
            Op::Output { name } => Some(name.clone()),
            _ => None,
        });
        let name = match r.state {
            Some(s) => g.name(s).map(str::to_string),
            None => output_name.or_else(|| g.name(r.node).map(str::to_string)),
        }
        .unwrap_or_else(|| format!("{}_{}", g.op(r.node).name(), r.node));
        g.set_name(pop, name);
        if let Some(span) = r.state.and_then(|s| g.span(s)).or(g.span(r.node)) {
            g.set_span(pop, span);
        }
        made.node[i] = Some(pop);
        cx.report.count("populations made", 1);
    }
    for (i, p) in plans.iter().enumerate() {
        if let Plan::PartOf { root, probe } = p {
            let pop = made.node[*root].expect("owner made above");
            made.node[i] = Some(match probe {
                Some(v) => {
                    let n = g.add(Op::Probe(*v), &[pop]);
                    if let Some(name) = roots[i].state.and_then(|s| g.name(s)).map(str::to_string) {
                        g.set_name(n, name);
                    }
                    n
                }
                None => pop,
            });
        }
    }
    // 2. Inputs of every population.
    let mut failed = false;
    for (i, p) in plans.iter().enumerate() {
        let (input, k) = match p {
            Plan::SigmaDelta { input, k, .. } => (input, *k),
            Plan::Li { input, .. }
            | Plan::Threshold { input }
            | Plan::Alif { input, .. }
            | Plan::Sfa { input } => (input, 1.0),
            Plan::PartOf { .. } => continue,
        };
        let pop = made.node[i].expect("made above");
        if let Err(d) = connect(g, roots, &made, pop, input, k) {
            let (span, what) = root_place(g, &roots[i]);
            cx.error(
                PassDiag::error("E0432", format!("cannot fold {what}: {d}"))
                    .at(span, "this expression"),
            );
            failed = true;
        }
    }
    if failed {
        return Err(Failed);
    }
    // 3. Readers of the old algebra read the populations.
    rewire(g, roots, &made);
    Ok(())
}

fn real(v: f64) -> ParamValue {
    ParamValue::Real(Const::Scalar(v as f32))
}

fn model_of(p: &Plan) -> Model {
    let (kind, params): (ModelKind, Vec<(&str, ParamValue)>) = match p {
        Plan::SigmaDelta { alpha, act, .. } => (
            ModelKind::SigmaDelta,
            vec![("alpha", real(*alpha)), ("act", ParamValue::Act(*act))],
        ),
        Plan::Li { alpha, .. } => (ModelKind::Li, vec![("alpha_mem", real(*alpha))]),
        Plan::Threshold { .. } => (
            ModelKind::Lif,
            vec![("alpha_mem", real(0.0)), ("threshold", real(0.0))],
        ),
        Plan::Alif {
            alpha,
            rho,
            beta,
            b0,
            ..
        } => (
            ModelKind::Alif,
            vec![
                ("alpha_mem", real(*alpha)),
                ("rho", real(*rho)),
                ("beta", real(*beta)),
                ("b0", real(*b0)),
            ],
        ),
        // Plank et al. 2021: tau_V = 20 steps, tau_A = 700 steps.
        Plan::Sfa { .. } => (
            ModelKind::Alif,
            vec![
                ("alpha_mem", real((-1.0f64 / 20.0).exp())),
                ("rho", real((-1.0f64 / 700.0).exp())),
            ],
        ),
        Plan::PartOf { .. } => unreachable!("parts have no population"),
    };
    Model::new(kind, params.into_iter().map(|(n, v)| (n.to_string(), v)))
        .expect("every required parameter is given")
}

/// The node a leaf reads and the extra delay (a state's previous value is
/// its population one step earlier).
fn source(g: &Graph, roots: &[Root], made: &Made, l: Leaf) -> Result<(NodeId, u32), String> {
    match l {
        Leaf::Input(n) | Leaf::Population(n) | Leaf::Probe(n) => Ok((n, 0)),
        Leaf::Root(n) => roots
            .iter()
            .position(|r| r.node == n)
            .and_then(|i| made.node[i])
            .map(|p| (p, 0))
            .ok_or_else(|| format!("{} has no population", g.label(n))),
        Leaf::Prev(s) => {
            if let Some(i) = roots.iter().position(|r| r.state == Some(s)) {
                return made.node[i]
                    .map(|p| (p, 1))
                    .ok_or_else(|| format!("state {} has no population", g.label(s)));
            }
            match g.arg(s, 0) {
                Some(next) if is_delay_of_population(g, s) => Ok((next, 1)),
                _ => Err(format!(
                    "the previous value of {} cannot be read",
                    g.label(s)
                )),
            }
        }
    }
}

/// Adds projections into `pop` for every term of `input · k`; constants
/// become the population's bias.
fn connect(
    g: &mut Graph,
    roots: &[Root],
    made: &Made,
    pop: NodeId,
    input: &Affine,
    k: f64,
) -> Result<(), String> {
    let size = g.shape(pop).len();
    let constant = input.constant * k;
    // One value a neuron only when a constant vector is added: a scalar
    // bias of a billion neurons takes no memory.
    let mut bias: Option<Vec<f64>> = None;
    for (c, t) in &input.terms {
        let c = c * k;
        match t {
            Term::MatVec(w, leaf) => {
                let (src, delay) = source(g, roots, made, *leaf)?;
                let weights = scaled_tensor(g, *w, c);
                let p = g.add(
                    Op::Project(Projection {
                        weights,
                        delay: Delay::Const(delay),
                    }),
                    &[src],
                );
                name_projection(g, p, src, pop);
                g.push_arg(pop, p);
            }
            Term::Signal(leaf) => {
                let (src, delay) = source(g, roots, made, *leaf)?;
                if g.shape(src) != Shape::Vector(size) {
                    return Err(format!(
                        "{} has shape {}, the population {size} neurons",
                        g.label(src),
                        g.shape(src)
                    ));
                }
                let init = Init::Eye { value: c as f32 };
                let data = init.generate(&[size, size]).map_err(|e| e.to_string())?;
                let pattern = data.pattern.ok_or("eye makes a sparse tensor")?;
                let t =
                    Tensor::sparse(pattern, data.values, Origin::Init(init)).map_err(|e| e.0)?;
                let weights = g.add_tensor(t);
                let p = g.add(
                    Op::Project(Projection {
                        weights,
                        delay: Delay::Const(delay),
                    }),
                    &[src],
                );
                name_projection(g, p, src, pop);
                g.push_arg(pop, p);
            }
            Term::Vector(t) => {
                let v = g
                    .tensor(*t)
                    .f32s()
                    .ok_or("a constant vector without values")?;
                if v.len() != size as usize {
                    return Err(format!("a bias of {} values for {size} neurons", v.len()));
                }
                let bias = match &mut bias {
                    Some(b) => b,
                    None => {
                        // The sum here, then the tensor made of it.
                        snn_ir::budget::check_elements(size as u128, 8 + 4, || {
                            format!("the bias of {size} neurons")
                        })
                        .map_err(|e| e.to_string())?;
                        bias.insert(vec![constant; size as usize])
                    }
                };
                for (b, x) in bias.iter_mut().zip(v) {
                    *b += c * *x as f64;
                }
            }
            other => {
                return Err(format!(
                    "{} cannot be a neuron input",
                    normal::describe(other)
                ));
            }
        }
    }
    // A bias that is exactly one constant vector keeps its tensor.
    let single_vector = match input
        .terms
        .iter()
        .filter(|(_, t)| matches!(t, Term::Vector(_)))
        .collect::<Vec<_>>()[..]
    {
        [(c, Term::Vector(t))] if c * k == 1.0 && input.constant == 0.0 => Some(*t),
        _ => None,
    };
    let bias = if let Some(t) = single_vector {
        Const::Tensor(t)
    } else if let Some(bias) = bias {
        let t = Tensor::from_f32(
            vec![size],
            bias.iter().map(|&b| b as f32).collect(),
            Origin::Derived,
        )
        .map_err(|e| e.0)?;
        Const::Tensor(g.add_tensor(t))
    } else {
        Const::Scalar(constant as f32)
    };
    if bias != Const::Scalar(0.0) {
        let Op::Population(p) = g.op_mut(pop) else {
            unreachable!("pop is a population")
        };
        p.model
            .set("bias", ParamValue::Real(bias))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn name_projection(g: &mut Graph, p: NodeId, src: NodeId, dst: NodeId) {
    let a = g.name(src).map_or(src.to_string(), str::to_string);
    let b = g.name(dst).map_or(dst.to_string(), str::to_string);
    g.set_name(p, format!("{a}->{b}"));
    if let Some(s) = g.span(dst) {
        g.set_span(p, s);
    }
}

/// `w · factor` as a tensor (the same tensor when the factor is 1).
fn scaled_tensor(g: &mut Graph, w: TensorId, factor: f64) -> TensorId {
    if factor == 1.0 {
        return w;
    }
    let f = factor as f32;
    match g.tensor(w).map_f32(move |x| x * f) {
        Some(t) => g.add_tensor(t),
        None => w,
    }
}

/// Points readers outside the algebra at the new populations.
fn rewire(g: &mut Graph, roots: &[Root], made: &Made) {
    for (i, r) in roots.iter().enumerate() {
        let Some(pop) = made.node[i] else { continue };
        // Readers of the new value.
        if is_algebra_node(g, r.node) {
            for (user, slot) in g.users(r.node) {
                if matches!(g.op(user), Op::Output { .. }) || is_synapse(g, user) {
                    g.set_arg(user, slot, pop);
                }
            }
        }
        // Readers of a state's previous value through synapses: one more step.
        if let Some(s) = r.state {
            for (user, slot) in g.users(s) {
                if is_synapse(g, user)
                    && let Op::Project(p) = g.op(user).clone()
                {
                    let delay = delay_plus_one(g, p.delay);
                    g.set_op(user, Op::Project(Projection { delay, ..p }));
                    g.set_arg(user, slot, pop);
                }
            }
        }
    }
}

fn delay_plus_one(g: &mut Graph, d: Delay) -> Delay {
    match d {
        Delay::Const(k) => Delay::Const(k + 1),
        Delay::PerSynapse(t) => {
            let tensor = g.tensor(t);
            let values: Vec<i32> = tensor
                .i32s()
                .map(|v| v.iter().map(|x| x + 1).collect())
                .unwrap_or_default();
            let values = snn_ir::tensor::Values::I32(values.into());
            let shifted = match tensor.pattern() {
                Some(p) => Tensor::sparse(Arc::clone(p), values, Origin::Derived),
                None => Tensor::dense(tensor.shape().to_vec(), values, Origin::Derived),
            }
            .expect("same layout as the delays");
            Delay::PerSynapse(g.add_tensor(shifted))
        }
    }
}

/// After folding, outputs may depend only on inputs, populations,
/// synapses and probes.
fn check_nothing_left(g: &Graph, cx: &mut PassCx) -> Result<(), Failed> {
    let mut seen = HashSet::new();
    let mut stack: Vec<NodeId> = g.outputs();
    let mut failed = false;
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        let ok = match g.op(n) {
            Op::Input { .. } | Op::Population(_) | Op::Probe(_) | Op::Output { .. } => true,
            Op::Project(_) => is_synapse(g, n),
            Op::State { .. } => false,
            _ => false,
        };
        if !ok {
            let what = match g.op(n) {
                Op::State { .. } => "a previous value read outside a projection".to_string(),
                op => format!("`{}`", op.name()),
            };
            cx.error(
                PassDiag::error(
                    "E0433",
                    format!(
                        "{} is left after folding: {what} cannot be computed on a spiking chip",
                        g.label(n)
                    ),
                )
                .at(g.span(n), "not mapped to neurons")
                .help("outputs must read populations, or values that fold into them"),
            );
            failed = true;
            continue;
        }
        stack.extend(g.args(n));
    }
    if failed { Err(Failed) } else { Ok(()) }
}
