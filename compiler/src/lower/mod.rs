//! Lowering: from the syntax tree of a `.snn` file to an IR graph.
//!
//! Statements run in source order within a time step (see
//! `docs/language.md`, "Evaluation order"):
//! - a state read before its update statement gives the previous step's
//!   value, after it the new value;
//! - a population read before its declaration gives the previous step's
//!   output, after it this step's; a projection reads its source at the
//!   position of the population it feeds, so recurrent projections
//!   (`hid -> hid`) carry one step of delay;
//! - `let` and `const` may be used before they are written (they are
//!   definitions); a `let` reads states and populations at its own position.
//!
//! Every problem becomes a diagnostic; lowering continues past errors where
//! it can, so one run reports as many as possible.

mod expr;
mod load;
mod params;
mod value;
mod weights;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use snn_ir::{Const, Duration, Graph, ModelKind, NodeId, Op, Shape, Span};

use crate::diag::{Diagnostic, did_you_mean};
use crate::syntax::ast::{self, Expr, ItemKind, Name};
pub use load::FileLoader;
pub use value::CVal;

/// A value during lowering: known at compile time, computed each step by a
/// node, or an error that has already been reported.
#[derive(Debug, Clone)]
enum Val {
    C(CVal),
    Node(NodeId),
    Err,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A compile-time constant: no inputs, states or populations.
    Const,
    /// A per-step value computed at statement index `pos`.
    Step(usize),
}

#[derive(Debug, Clone)]
enum DeclKind {
    Builtin,
    Input(NodeId),
    Const,
    State {
        node: NodeId,
        size: u32,
        update: Option<usize>,
    },
    Let,
    Population {
        node: NodeId,
        size: u32,
        model: Option<ModelKind>,
    },
    Output,
}

#[derive(Debug, Clone)]
struct Decl {
    kind: DeclKind,
    span: Span,
    item: usize,
}

impl DeclKind {
    fn noun(&self) -> &'static str {
        match self {
            DeclKind::Builtin => "a built-in constant",
            DeclKind::Input(_) => "an input",
            DeclKind::Const => "a constant",
            DeclKind::State { .. } => "a state",
            DeclKind::Let => "a `let` value",
            DeclKind::Population { .. } => "a population",
            DeclKind::Output => "an output",
        }
    }
}

enum Memo<T> {
    Busy,
    Done(T),
}

/// Lowers a parsed file. `path` locates the file: weight files are read
/// relative to its directory, and it is recorded as the graph's source.
/// Returns the graph when there were no errors, and every diagnostic.
pub fn lower(file: &ast::File, path: &Path) -> (Option<Graph>, Vec<Diagnostic>) {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut l = Lowerer {
        file,
        base,
        g: Graph::new(Duration::from_ps(1)),
        diags: Vec::new(),
        decls: HashMap::new(),
        const_memo: HashMap::new(),
        let_memo: HashMap::new(),
        update_memo: HashMap::new(),
        prev_of: HashMap::new(),
        probes: HashMap::new(),
        files: HashMap::new(),
        dt_ps: None,
        projections: HashMap::new(),
        nesting: 0,
        nesting_reported: false,
        load_hint: None,
        outputs: HashMap::new(),
        left_out: Vec::new(),
    };
    l.g.source = Some(path.to_string_lossy().into_owned());
    l.run();
    let errors = l.diags.iter().any(Diagnostic::is_error);
    (if errors { None } else { Some(l.g) }, l.diags)
}

struct Lowerer<'f> {
    file: &'f ast::File,
    base: PathBuf,
    g: Graph,
    diags: Vec<Diagnostic>,
    decls: HashMap<String, Decl>,
    const_memo: HashMap<String, Memo<Option<CVal>>>,
    let_memo: HashMap<String, Memo<Val>>,
    update_memo: HashMap<String, Memo<Val>>,
    /// `State` nodes that read a population's previous output.
    prev_of: HashMap<NodeId, NodeId>,
    probes: HashMap<(NodeId, snn_ir::ProbeVar), NodeId>,
    files: HashMap<PathBuf, load::OpenFile>,
    dt_ps: Option<u64>,
    /// Projection statements by target name.
    projections: HashMap<String, Vec<usize>>,
    /// Expressions being lowered, one inside the other (through the `let`s
    /// and `const`s they name), and whether the limit was reported.
    nesting: usize,
    nesting_reported: bool,
    /// The declared shape a `load` about to be lowered must have (the
    /// value of a `const` with a shape), checked before its data is read.
    load_hint: Option<LoadHint>,
    /// Output names already given, and where.
    outputs: HashMap<String, Span>,
    /// Statements that made nothing (each must come with an error).
    left_out: Vec<(Span, &'static str)>,
}

/// The shape a `const` declares for the `load` that is its value.
#[derive(Clone, Debug)]
struct LoadHint {
    dims: Vec<u32>,
    shape_span: Span,
    name: String,
}

/// The deepest lowering recurses: expressions inside expressions, counting
/// those of the `let`s and `const`s they name (see `docs/language.md`,
/// "Limits").
pub const MAX_NESTING: usize = 4096;

impl<'f> Lowerer<'f> {
    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn run(&mut self) {
        self.timestep();
        self.declare();
        for (i, item) in self.file.items.iter().enumerate() {
            match &item.kind {
                ItemKind::Update { name, .. } => {
                    if matches!(
                        self.decls.get(&name.text).map(|d| &d.kind),
                        Some(DeclKind::State { .. })
                    ) {
                        self.update_value(&name.text);
                    }
                }
                ItemKind::Let { name, .. } => {
                    self.let_value(&name.text, name.span);
                }
                ItemKind::Const { name, .. } => {
                    self.const_value(&name.text, name.span);
                }
                ItemKind::Population { name, .. } => self.population_inputs(i, &name.text),
                ItemKind::Output { name, value } => {
                    if !self.output(i, name, value.as_ref()) {
                        self.left_out.push((item.span, "an output"));
                    }
                }
                ItemKind::Projection { src, dst, .. } => self.check_projection_ends(src, dst),
                ItemKind::Timestep(_)
                | ItemKind::Input { .. }
                | ItemKind::State { .. }
                | ItemKind::Error => {}
            }
        }
        self.check_states_updated();
        self.check_nothing_left_out();
        if !self.diags.iter().any(Diagnostic::is_error) {
            self.check_cycles();
        }
    }

    /// Reads the one `timestep` statement.
    fn timestep(&mut self) {
        let steps: Vec<&Expr> = self
            .file
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Timestep(e) => Some(e),
                _ => None,
            })
            .collect();
        match steps.as_slice() {
            [] => {
                let at = self.file.items.first().map(|i| i.span).unwrap_or_default();
                let d = Diagnostic::error("E0111", "missing `timestep`")
                    .label(
                        Span::new(at.start as usize, at.start as usize),
                        "the file starts here",
                    )
                    .help("declare the duration of one step, e.g. `timestep 1ms;`");
                self.error(d);
            }
            [e, rest @ ..] => {
                for extra in rest {
                    let d = Diagnostic::error("E0111", "`timestep` is declared twice")
                        .label(extra.span, "second declaration")
                        .label(e.span, "first declaration");
                    self.error(d);
                }
                let e = *e;
                match self.expr(e, Mode::Const) {
                    Val::C(CVal::Num(ps, 1))
                        if ps >= 1.0 && ps.fract() == 0.0 && ps < u64::MAX as f64 =>
                    {
                        self.dt_ps = Some(ps as u64);
                        self.g.timestep = Duration::from_ps(ps as u64);
                    }
                    Val::C(CVal::Num(ps, 1)) => {
                        let d = Diagnostic::error(
                            "E0104",
                            "number out of range: the time step must be positive",
                        )
                        .label(
                            e.span,
                            format!("this is {}", Duration::from_ps(ps.max(0.0) as u64)),
                        );
                        self.error(d);
                    }
                    Val::C(v @ CVal::Num(..)) => {
                        let d = Diagnostic::error("E0103", "bad unit: `timestep` needs a duration")
                            .label(e.span, format!("this is {}", value::dim_name(dim_of(&v))))
                            .help("write a unit, e.g. `timestep 1ms;` or `timestep 0.5ms;`");
                        self.error(d);
                    }
                    Val::C(v) => {
                        let d = Diagnostic::error("E0109", "`timestep` needs a duration")
                            .label(e.span, format!("this is {}", v.describe()));
                        self.error(d);
                    }
                    Val::Node(_) | Val::Err => {}
                }
            }
        }
    }

    /// Registers every name, creates inputs, states and populations.
    fn declare(&mut self) {
        self.decls.insert(
            "dt".into(),
            Decl {
                kind: DeclKind::Builtin,
                span: Span::default(),
                item: 0,
            },
        );
        // Names first, so that constants can be used before they are written.
        for (i, item) in self.file.items.iter().enumerate() {
            let (name, kind) = match &item.kind {
                ItemKind::Input { name, .. } => (name, DeclKind::Input(NodeId(u32::MAX))),
                ItemKind::Const { name, .. } => (name, DeclKind::Const),
                ItemKind::State { name, .. } => (
                    name,
                    DeclKind::State {
                        node: NodeId(u32::MAX),
                        size: 0,
                        update: None,
                    },
                ),
                ItemKind::Let { name, .. } => (name, DeclKind::Let),
                ItemKind::Population { name, .. } => (
                    name,
                    DeclKind::Population {
                        node: NodeId(u32::MAX),
                        size: 0,
                        model: None,
                    },
                ),
                // `output hid;` names a value declared elsewhere.
                ItemKind::Output {
                    name,
                    value: Some(_),
                } => (name, DeclKind::Output),
                ItemKind::Projection { dst, .. } => {
                    self.projections
                        .entry(dst.text.clone())
                        .or_default()
                        .push(i);
                    continue;
                }
                _ => continue,
            };
            self.declare_name(name, kind, i);
        }
        // Then the things that become nodes, in source order (inputs first,
        // so that input columns follow declaration order).
        for (i, item) in self.file.items.iter().enumerate() {
            if let ItemKind::Input { name, size } = &item.kind {
                let size = self.size(size);
                let n = self.g.add(
                    Op::Input {
                        name: name.text.clone(),
                        size: size.unwrap_or(1),
                    },
                    &[],
                );
                self.g.set_name(n, name.text.clone());
                self.g.set_span(n, item.span);
                self.set_decl_node(name, i, DeclKind::Input(n));
            }
        }
        for (i, item) in self.file.items.iter().enumerate() {
            match &item.kind {
                ItemKind::State { name, size, init } => {
                    let size = self.size(size).unwrap_or(1);
                    let init = match init {
                        Some(e) => self.param_const(e, size, "the initial value"),
                        None => Some(Const::Scalar(0.0)),
                    }
                    .unwrap_or(Const::Scalar(0.0));
                    let n = self.g.add(Op::State { size, init }, &[]);
                    self.g.set_name(n, name.text.clone());
                    self.g.set_span(n, item.span);
                    self.set_decl_node(
                        name,
                        i,
                        DeclKind::State {
                            node: n,
                            size,
                            update: None,
                        },
                    );
                }
                ItemKind::Population {
                    name,
                    model,
                    size,
                    params,
                } => {
                    let size = self.size(size).unwrap_or(1);
                    let (kind, pop) = self.population(name, model, size, params);
                    let n = self.g.add(Op::Population(pop), &[]);
                    self.g.set_name(n, name.text.clone());
                    self.g.set_span(n, item.span);
                    self.set_decl_node(
                        name,
                        i,
                        DeclKind::Population {
                            node: n,
                            size,
                            model: kind,
                        },
                    );
                }
                ItemKind::Update { name, .. } => self.declare_update(name, i),
                _ => {}
            }
        }
    }

    fn declare_name(&mut self, name: &Name, kind: DeclKind, item: usize) {
        if let Some(prev) = self.decls.get(&name.text) {
            let mut d = Diagnostic::error("E0101", format!("duplicate name `{}`", name.text))
                .label(name.span, "declared again here");
            d = match prev.kind {
                DeclKind::Builtin => d.help(format!(
                    "`{}` is built in (the time step); pick another name",
                    name.text
                )),
                _ => d.label(prev.span, "first declared here").help(
                    "every input, constant, state, let, population and output needs its own name",
                ),
            };
            self.error(d);
            return;
        }
        self.decls.insert(
            name.text.clone(),
            Decl {
                kind,
                span: name.span,
                item,
            },
        );
    }

    /// Replaces the placeholder kind once the node exists (only for the
    /// declaration that won, if the name was declared twice).
    fn set_decl_node(&mut self, name: &Name, item: usize, kind: DeclKind) {
        if let Some(d) = self.decls.get_mut(&name.text)
            && d.item == item
        {
            d.kind = kind;
        }
    }

    fn declare_update(&mut self, name: &Name, item: usize) {
        let Some(decl) = self.decls.get(&name.text).cloned() else {
            let d = self.unknown_name(name);
            self.error(d.help(format!(
                "declare it first: `state {}[n] = 0;` (only states can be assigned)",
                name.text
            )));
            return;
        };
        match decl.kind {
            DeclKind::State {
                node,
                size,
                update: None,
            } => {
                if let Some(d) = self.decls.get_mut(&name.text) {
                    d.kind = DeclKind::State {
                        node,
                        size,
                        update: Some(item),
                    };
                }
            }
            DeclKind::State {
                update: Some(first),
                ..
            } => {
                let first_span = self.item_name_span(first);
                let d =
                    Diagnostic::error("E0112", format!("state `{}` is updated twice", name.text))
                        .label(name.span, "second update")
                        .label(first_span, "first update")
                        .help("a state gets one new value per step; combine the two with `let`");
                self.error(d);
            }
            other => {
                let d = Diagnostic::error("E0112", format!("`{}` is not a state and cannot be assigned", name.text))
                    .label(name.span, "assigned here")
                    .label(decl.span, format!("declared as {}", other.noun()))
                    .help(format!(
                        "to give it a value every step, declare `state {}[n] = 0;`; for a one-off value use `let`",
                        name.text
                    ));
                self.error(d);
            }
        }
    }

    fn item_name_span(&self, item: usize) -> Span {
        match &self.file.items[item].kind {
            ItemKind::Update { name, .. } => name.span,
            _ => self.file.items[item].span,
        }
    }

    fn check_states_updated(&mut self) {
        let mut missing: Vec<(String, Span)> = self
            .decls
            .iter()
            .filter_map(|(n, d)| match d.kind {
                DeclKind::State { update: None, .. } if d.span != Span::default() => {
                    Some((n.clone(), d.span))
                }
                _ => None,
            })
            .collect();
        missing.sort_by_key(|(_, s)| s.start);
        for (name, span) in missing {
            let d = Diagnostic::error("E0112", format!("state `{name}` is never updated"))
                .label(span, "declared here")
                .help(format!("give it a new value each step, e.g. `{name} = 0.9 * {name} + x;`, or make it a `const`"));
            self.error(d);
        }
    }

    fn unknown_name(&self, name: &Name) -> Diagnostic {
        let mut d = Diagnostic::error("E0100", format!("unknown name `{}`", name.text))
            .label(name.span, "not declared anywhere in this file");
        let names = self.decls.keys().map(String::as_str);
        if let Some(s) = did_you_mean(&name.text, names) {
            d = d.help(format!("did you mean `{s}`?"));
        }
        d
    }

    /// The new value of state `name` (its update statement, lowered once).
    fn update_value(&mut self, name: &str) -> Val {
        match self.update_memo.get(name) {
            Some(Memo::Done(v)) => return v.clone(),
            Some(Memo::Busy) => {
                let decl = &self.decls[name];
                let span = decl.span;
                let d = Diagnostic::error(
                    "E0105",
                    format!("cycle: the new value of `{name}` depends on itself"),
                )
                .label(span, "this state")
                .help("read the previous value instead: move the `let` that reads it above the update, or keep the value in another state");
                self.error(d);
                return Val::Err;
            }
            None => {}
        }
        let Some(Decl {
            kind:
                DeclKind::State {
                    node,
                    size,
                    update: Some(item),
                },
            ..
        }) = self.decls.get(name).cloned()
        else {
            return Val::Err;
        };
        let ItemKind::Update { value, name: lhs } = &self.file.items[item].kind else {
            return Val::Err;
        };
        self.update_memo.insert(name.to_string(), Memo::Busy);
        let v = self.expr(value, Mode::Step(item));
        let result = match self.runtime_node(&v, value.span) {
            Some(n) => {
                let shape = self.g.shape(n);
                if shape != Shape::Vector(size) && !shape.is_scalar() {
                    let d = Diagnostic::error(
                        "E0102",
                        format!("shape mismatch: `{name}` has shape [{size}] but its update has shape {shape}"),
                    )
                    .label(value.span, format!("shape {shape}"))
                    .label(lhs.span, format!("shape [{size}]"));
                    self.error(d);
                    Val::Err
                } else {
                    self.g.push_arg(node, n);
                    Val::Node(n)
                }
            }
            None => Val::Err,
        };
        self.update_memo
            .insert(name.to_string(), Memo::Done(result.clone()));
        result
    }

    /// The value of `let name`, lowered once at its own position.
    fn let_value(&mut self, name: &str, use_span: Span) -> Val {
        match self.let_memo.get(name) {
            Some(Memo::Done(v)) => return v.clone(),
            Some(Memo::Busy) => {
                let decl_span = self.decls[name].span;
                let d = Diagnostic::error("E0105", format!("cycle: `{name}` depends on itself"))
                    .label(use_span, format!("`{name}` is used here"))
                    .label(decl_span, "while it is being defined here")
                    .help("a cycle must pass through a state (previous value) or a population; use `state` to carry a value to the next step");
                self.error(d);
                return Val::Err;
            }
            None => {}
        }
        let item = self.decls[name].item;
        let ItemKind::Let { value, .. } = &self.file.items[item].kind else {
            return Val::Err;
        };
        self.let_memo.insert(name.to_string(), Memo::Busy);
        let v = self.expr(value, Mode::Step(item));
        if let Val::Node(n) = v
            && self.g.name(n).is_none()
        {
            self.g.set_name(n, name);
        }
        self.let_memo
            .insert(name.to_string(), Memo::Done(v.clone()));
        v
    }

    /// The value of `const name`, evaluated once.
    fn const_value(&mut self, name: &str, use_span: Span) -> Option<CVal> {
        match self.const_memo.get(name) {
            Some(Memo::Done(v)) => return v.clone(),
            Some(Memo::Busy) => {
                let decl_span = self.decls[name].span;
                let d = Diagnostic::error(
                    "E0105",
                    format!("cycle: constant `{name}` depends on itself"),
                )
                .label(use_span, "used here")
                .label(decl_span, "while it is being defined here");
                self.error(d);
                return None;
            }
            None => {}
        }
        let item = self.decls[name].item;
        let ItemKind::Const {
            value,
            shape,
            shape_span,
            ..
        } = &self.file.items[item].kind
        else {
            return None;
        };
        self.const_memo.insert(name.to_string(), Memo::Busy);
        let declared: Option<Option<Vec<u32>>> = shape
            .as_ref()
            .map(|dims| dims.iter().map(|d| self.size(d)).collect());
        // A file's array is checked against the declared shape before its
        // data is read.
        if let (Some(Some(dims)), ast::ExprKind::Call { func, .. }) = (&declared, &value.kind)
            && func.text == "load"
        {
            self.load_hint = Some(LoadHint {
                dims: dims.clone(),
                shape_span: shape_span.unwrap_or(value.span),
                name: name.to_string(),
            });
        }
        let v = match self.expr(value, Mode::Const) {
            Val::C(c) => Some(c),
            Val::Node(_) | Val::Err => None,
        };
        self.load_hint = None;
        let v = match (v, declared) {
            (Some(v), Some(dims)) => dims.and_then(|dims| {
                self.shaped(v, &dims, value.span, shape_span.unwrap_or(value.span), name)
            }),
            (Some(CVal::Init(init, span)), None) => {
                let d = Diagnostic::error("E0102", format!("`{}` needs a shape", init.name()))
                    .label(span, "the shape of this initializer is unknown")
                    .help(format!(
                        "declare the shape: `const {name}: [rows, cols] = ...;`"
                    ));
                self.error(d);
                None
            }
            (v, None) => v,
            (None, Some(_)) => None,
        };
        self.const_memo
            .insert(name.to_string(), Memo::Done(v.clone()));
        v
    }

    /// Attaches the projections that feed population `name` (its inputs are
    /// read at the population's position).
    fn population_inputs(&mut self, item: usize, name: &str) {
        let Some(Decl {
            kind: DeclKind::Population { node, size, .. },
            item: decl_item,
            ..
        }) = self.decls.get(name).cloned()
        else {
            return;
        };
        if decl_item != item {
            return;
        }
        for p in self.projections.get(name).cloned().unwrap_or_default() {
            match self.projection(p, item, size) {
                Some(input) => self.g.push_arg(node, input),
                None => self
                    .left_out
                    .push((self.file.items[p].span, "a projection")),
            }
        }
    }

    fn check_projection_ends(&mut self, src: &Name, dst: &Name) {
        for end in [src, dst] {
            if !self.decls.contains_key(&end.text) {
                let d = self.unknown_name(end);
                self.error(d);
            }
        }
        if let Some(decl) = self.decls.get(&dst.text).cloned()
            && !matches!(decl.kind, DeclKind::Population { .. })
        {
            let d = Diagnostic::error(
                "E0109",
                format!(
                    "a projection must end at a population, and `{}` is {}",
                    dst.text,
                    decl.kind.noun()
                ),
            )
            .label(dst.span, "not a population")
            .label(decl.span, "declared here")
            .help("to feed a weighted sum into a value, write it in the expression: `W @ x`");
            self.error(d);
        }
        if let Some(decl) = self.decls.get(&src.text).cloned()
            && matches!(decl.kind, DeclKind::Output | DeclKind::Builtin)
        {
            let d = Diagnostic::error(
                "E0109",
                format!("`{}` is {} and cannot be read", src.text, decl.kind.noun()),
            )
            .label(src.span, "used as a projection source");
            self.error(d);
        }
    }

    /// A statement that made nothing must have said why: if no error was
    /// reported at all, that is a bug in snnc, reported as one rather than
    /// leaving the statement out in silence.
    fn check_nothing_left_out(&mut self) {
        if self.diags.iter().any(Diagnostic::is_error) {
            return;
        }
        for (span, what) in std::mem::take(&mut self.left_out) {
            let d = Diagnostic::error(
                "E0900",
                format!("internal error: {what} was left out without a reason"),
            )
            .label(span, "this statement")
            .help("this is a bug in snnc; please report it with this file");
            self.error(d);
        }
    }

    /// Adds the output of statement `item`; false (with a diagnostic) if it
    /// cannot be made.
    fn output(&mut self, item: usize, name: &Name, value: Option<&Expr>) -> bool {
        let earlier = self.outputs.get(&name.text).copied().or_else(|| {
            // `output y;` after or before `output y = ...;`.
            self.decls
                .get(&name.text)
                .filter(|d| matches!(d.kind, DeclKind::Output) && d.item != item && value.is_none())
                .map(|d| d.span)
        });
        if let Some(first) = earlier {
            let d = Diagnostic::error("E0101", format!("duplicate output `{}`", name.text))
                .label(name.span, "output again here")
                .label(first, "first output here")
                .help("every output needs its own name: `output other = value;`");
            self.error(d);
            return false;
        }
        self.outputs.insert(name.text.clone(), name.span);
        let v = match value {
            Some(e) => self.expr(e, Mode::Step(item)),
            None => {
                if !self.decls.contains_key(&name.text) {
                    let mut d = Diagnostic::error(
                        "E0100",
                        format!("`output {}` has nothing to output", name.text),
                    )
                    .label(name.span, "no value with this name");
                    d = match did_you_mean(&name.text, self.decls.keys().map(String::as_str)) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!(
                            "write `output {} = <expression>;` or name a population, state or let",
                            name.text
                        )),
                    };
                    self.error(d);
                    return false;
                }
                let e = Expr {
                    kind: ast::ExprKind::Name(name.clone()),
                    span: name.span,
                };
                self.expr(&e, Mode::Step(item))
            }
        };
        let span = value.map_or(name.span, |e| e.span);
        let Some(n) = self.runtime_node(&v, span) else {
            return false;
        };
        let o = self.g.add(
            Op::Output {
                name: name.text.clone(),
            },
            &[n],
        );
        self.g.set_name(o, name.text.clone());
        self.g.set_span(o, self.file.items[item].span);
        true
    }

    /// Reports the first cycle with no delay in it, naming its members.
    fn check_cycles(&mut self) {
        let Err(cycle) = self.g.schedule() else {
            return;
        };
        let mut d = Diagnostic::error(
            "E0105",
            "cycle with no delay: these values depend on each other within one step",
        );
        let mut labelled = 0;
        for &n in &cycle {
            if let (Some(span), Some(name)) = (self.g.span(n), self.g.name(n)) {
                d = d.label(span, format!("`{name}` is part of the cycle"));
                labelled += 1;
            }
        }
        if labelled == 0
            && let Some(span) = cycle.iter().find_map(|&n| self.g.span(n))
        {
            d = d.label(span, "part of the cycle");
        }
        self.error(d.help(
            "a cycle must pass through a state or a population's previous output: read the population before its declaration, or use `state`",
        ));
    }
}

/// The time dimension of a compile-time number or tensor.
fn dim_of(v: &CVal) -> i8 {
    match v {
        CVal::Num(_, d) | CVal::Tensor(_, d) => *d,
        CVal::Str(_) | CVal::Init(..) => 0,
    }
}
