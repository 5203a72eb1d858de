//! Programs from the grammar of the language (`docs/language.md`): every
//! kind of statement, neuron model and parameter, expressions of matching
//! shapes most of the time, and now and then a size, number or name from
//! the edges of what is allowed. The mutators then break them further.

use super::rng::Rng;

/// An array a generated program may `load`: file, name and shape.
#[derive(Clone, Debug)]
pub struct Available {
    pub file: String,
    pub name: String,
    pub shape: Vec<usize>,
}

/// What a name holds, for choosing operands of the right shape.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// A per-step vector of `n` elements (input, state, let, population).
    Vector(u32),
    /// A constant `[rows, cols]` matrix.
    Matrix(u32, u32),
    /// A constant plain number.
    Number,
    /// A population of `n` neurons of `model`.
    Population(u32, &'static str),
}

struct Gen<'a> {
    r: &'a mut Rng,
    names: Vec<(String, Kind)>,
    out: Vec<String>,
    next: usize,
    available: &'a [Available],
}

/// Numbers at and around the edges of what the language takes.
const EDGE_SIZES: [&str; 8] = [
    "0",
    "1",
    "4294967295",
    "4294967296",
    "2147483647",
    "1000000000",
    "65536",
    "-3",
];

/// Each model with its parameters: one group per parameter, holding the
/// ways to write it (one is picked, or none).
const MODELS: [(&str, &[&[&str]]); 5] = [
    (
        "lif",
        &[
            &["tau_syn = 5ms", "alpha_syn = 0.8"],
            &["tau_mem = 20ms", "alpha_mem = 0.95"],
            &["threshold = 1.0", "threshold = 0.25"],
            &["bias = 0.1"],
            &["gain = 2"],
            &["v_min = -1"],
            &["reset = subtract", "reset = zero"],
            &["refractory = 2", "refractory = 2ms"],
        ],
    ),
    (
        "if",
        &[
            &["threshold = 0.5"],
            &["bias = 0.05"],
            &["gain = 1"],
            &["reset = zero", "reset = subtract"],
            &["refractory = 1"],
        ],
    ),
    (
        "alif",
        &[
            &["tau_mem = 20ms", "alpha_mem = 0.95"],
            &["tau_adp = 200ms", "rho = 0.99"],
            &["beta = 1.8"],
            &["b0 = 0.01"],
            &["bias = 0"],
            &["reset = subtract", "reset = zero"],
            &["refractory = 0"],
        ],
    ),
    (
        "sigma_delta",
        &[
            &["tau = 4ms", "alpha = 0.75"],
            &["threshold = 0.01"],
            &["act = relu", "act = identity", "act = clamp(0, 6)"],
            &["bias = 0.1"],
        ],
    ),
    (
        "li",
        &[
            &["tau_mem = 10ms", "alpha_mem = 0.9"],
            &["tau_syn = 2ms"],
            &["bias = 0"],
        ],
    ),
];

impl Gen<'_> {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }

    fn size(&mut self) -> u32 {
        *self.r.pick(&[1, 2, 3, 4, 4, 6, 8, 16])
    }

    fn size_text(&mut self, n: u32) -> String {
        if self.r.chance(0.005) {
            (*self.r.pick(&EDGE_SIZES)).to_string()
        } else {
            n.to_string()
        }
    }

    fn number(&mut self) -> String {
        if self.r.chance(0.005) {
            return (*self
                .r
                .pick(&["1e308", "1e-320", "0", "1e39", "3.4e38", "1_000", "0.0"]))
            .to_string();
        }
        let v = self.r.range(-20, 20) as f64 / 8.0;
        format!("{v}")
    }

    fn vectors(&self, n: u32) -> Vec<String> {
        self.names
            .iter()
            .filter(|(_, k)| {
                matches!(k, Kind::Vector(m) if *m == n)
                    || matches!(k, Kind::Population(m, _) if *m == n)
            })
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn matrices(&self, rows: u32) -> Vec<(String, u32)> {
        self.names
            .iter()
            .filter_map(|(s, k)| match k {
                Kind::Matrix(r, c) if *r == rows => Some((s.clone(), *c)),
                _ => None,
            })
            .collect()
    }

    /// An expression of a vector of `n` elements (or, at the leaves, a
    /// number that broadcasts).
    fn expr(&mut self, n: u32, depth: u32) -> String {
        if depth == 0 || self.r.chance(0.3) {
            return self.leaf(n, false);
        }
        match self.r.below(9) {
            0 => {
                let f = *self
                    .r
                    .pick(&["relu", "tanh", "sigmoid", "exp", "heaviside"]);
                format!("{f}({})", self.expr(n, depth - 1))
            }
            1 => format!("clamp({}, 0, 6)", self.expr(n, depth - 1)),
            2 => format!("-{}", self.expr(n, depth - 1)),
            3 => format!("({} * {})", self.number(), self.expr(n, depth - 1)),
            4..=6 => {
                let op = self.r.word(&["+", "-", "*", "/"]);
                format!(
                    "{} {op} {}",
                    self.expr(n, depth - 1),
                    self.expr(n, depth - 1)
                )
            }
            _ => {
                let ms = self.matrices(n);
                if ms.is_empty() {
                    return self.leaf(n, false);
                }
                let (w, m) = self.r.pick(&ms).clone();
                format!("{w} @ {}", self.vector(m, depth - 1))
            }
        }
    }

    /// An expression that is certainly a vector of `n` elements.
    fn vector(&mut self, n: u32, depth: u32) -> String {
        if depth == 0 || self.r.chance(0.3) {
            return self.leaf(n, true);
        }
        match self.r.below(3) {
            0 => format!("relu({})", self.vector(n, depth - 1)),
            1 => format!(
                "{} + {}",
                self.vector(n, depth - 1),
                self.expr(n, depth - 1)
            ),
            _ => format!("{} * {}", self.number(), self.vector(n, depth - 1)),
        }
    }

    fn leaf(&mut self, n: u32, vector: bool) -> String {
        let vs = self.vectors(n);
        match self.r.below(10) {
            _ if vector && vs.is_empty() => {
                let items: Vec<String> = (0..n).map(|_| self.number()).collect();
                format!("[{}]", items.join(", "))
            }
            0..=6 if !vs.is_empty() => {
                let v = self.r.pick(&vs).clone();
                if self.r.chance(0.1)
                    && let Some((_, Kind::Population(_, m))) =
                        self.names.iter().find(|(s, _)| *s == v)
                {
                    let field = match *m {
                        "alif" => self.r.word(&["v", "b"]),
                        "lif" | "li" => self.r.word(&["v", "i"]),
                        _ => "v",
                    };
                    return format!("{v}.{field}");
                }
                v
            }
            7 => {
                let items: Vec<String> = (0..n).map(|_| self.number()).collect();
                format!("[{}]", items.join(", "))
            }
            _ if vector && !vs.is_empty() => self.r.pick(&vs).clone(),
            _ => self.number(),
        }
    }

    fn init(&mut self, rows: u32, cols: u32) -> String {
        let seed = self.r.below(100);
        match self.r.below(12) {
            0 => format!("normal(std=0.3, seed={seed})"),
            1 => format!("normal(mean=0.1, std=0.2, seed={seed})"),
            2 => format!("uniform(-0.5, 0.5, seed={seed})"),
            3 => format!("randint(0, 4, seed={seed})"),
            4 => format!("sparse(density=0.5, values=normal(std=0.3), seed={seed})"),
            5 => format!("sparse(density={}, values=1.0, seed={seed})", self.r.unit()),
            6 => format!("full({})", self.number()),
            7 => "zeros()".into(),
            8 => "ones()".into(),
            9 if rows == cols => "eye(0.5)".into(),
            10 => {
                let rows_text: Vec<String> = (0..rows)
                    .map(|_| {
                        let v: Vec<String> = (0..cols).map(|_| self.number()).collect();
                        format!("[{}]", v.join(", "))
                    })
                    .collect();
                format!("[{}]", rows_text.join(", "))
            }
            _ => {
                let fits: Vec<Available> = self
                    .available
                    .iter()
                    .filter(|a| a.shape == [rows as usize, cols as usize])
                    .cloned()
                    .collect();
                match fits.first() {
                    Some(a) => format!("load(\"{}\", \"{}\")", a.file, a.name),
                    None => format!("normal(std=0.1, seed={seed})"),
                }
            }
        }
    }

    fn line(&mut self, s: String) {
        self.out.push(s);
    }

    fn matrix(&mut self, rows: u32, cols: u32) -> String {
        let name = self.fresh("W");
        let init = self.init(rows, cols);
        let (r, c) = (self.size_text(rows), self.size_text(cols));
        self.line(format!("const {name}: [{r}, {c}] = {init};"));
        self.names.push((name.clone(), Kind::Matrix(rows, cols)));
        name
    }

    fn population(&mut self) {
        let (model, params) = *self.r.pick(&MODELS);
        let n = self.size();
        let name = self.fresh("p");
        let mut body: Vec<String> = Vec::new();
        for (k, group) in params.iter().enumerate() {
            // The first group is the retention factor most models need.
            let p = if k == 0 { 0.95 } else { 0.5 };
            if self.r.chance(p) {
                body.push(format!("{};", self.r.pick(group)));
            }
        }
        if model == "alif"
            && self.r.chance(0.9)
            && !body
                .iter()
                .any(|b| b.starts_with("tau_adp") || b.starts_with("rho"))
        {
            body.push("tau_adp = 100ms;".into());
        }
        let size = self.size_text(n);
        self.line(format!(
            "population {name}: {model}[{size}] {{ {} }}",
            body.join(" ")
        ));
        self.names.push((name.clone(), Kind::Population(n, model)));
        // Feed it from something.
        let sources: Vec<(String, u32)> = self
            .names
            .iter()
            .filter_map(|(s, k)| match k {
                Kind::Vector(m) | Kind::Population(m, _) => Some((s.clone(), *m)),
                _ => None,
            })
            .collect();
        for _ in 0..self.r.range(0, 2) {
            let (src, m) = self.r.pick(&sources).clone();
            let weight = match self.r.below(4) {
                0 if m == n => self.number(),
                1 => self.matrix(n, m),
                _ => self.init(n, m),
            };
            let delay = match self.r.below(5) {
                0 => format!(" delay = {};", self.r.range(0, 6)),
                1 => format!(" delay = randint(0, 4, seed={});", self.r.below(9)),
                2 => " delay = 2ms;".into(),
                _ => String::new(),
            };
            self.line(format!("{src} -> {name} {{ weight = {weight};{delay} }}"));
        }
    }

    fn program(&mut self) -> String {
        let dt = if self.r.chance(0.97) {
            "1ms"
        } else {
            *self
                .r
                .pick(&["0.5ms", "1us", "2 steps", "0ms", "1", "1e-20s"])
        };
        self.line(format!("timestep {dt};"));
        for _ in 0..self.r.range(1, 2) {
            let n = self.size();
            let name = self.fresh("x");
            let size = self.size_text(n);
            self.line(format!("input {name}[{size}];"));
            self.names.push((name, Kind::Vector(n)));
        }
        if self.r.chance(0.5) {
            let a = self.fresh("a");
            self.line(format!("const {a} = 0.8;"));
            self.names.push((a, Kind::Number));
        }
        for _ in 0..self.r.range(1, 6) {
            match self.r.below(6) {
                0 | 1 => {
                    // A low-pass cell, as lprnn writes it.
                    let n = self.size();
                    let xs: Vec<(String, u32)> = self
                        .names
                        .iter()
                        .filter_map(|(s, k)| match k {
                            Kind::Vector(m) => Some((s.clone(), *m)),
                            _ => None,
                        })
                        .collect();
                    let (x, m) = self.r.pick(&xs).clone();
                    let w = self.matrix(n, m);
                    let u = self.matrix(n, n);
                    let h = self.fresh("h");
                    self.line(format!("state {h}[{n}] = 0;"));
                    let act = self.r.word(&["relu", "clamp", "tanh", "sigmoid"]);
                    let inner = format!("{w} @ {x} + {u} @ {h}");
                    let inner = if act == "clamp" {
                        format!("clamp({inner}, 0, 6)")
                    } else {
                        format!("{act}({inner})")
                    };
                    self.line(format!("{h} = 0.8 * {h} + 0.2 * {inner};"));
                    self.names.push((h, Kind::Vector(n)));
                }
                2 => {
                    let n = self.size();
                    let h = self.fresh("s");
                    self.line(format!("state {h}[{n}] = 0;"));
                    self.names.push((h.clone(), Kind::Vector(n)));
                    let depth = self.r.range(1, 4) as u32;
                    let e = self.vector(n, depth);
                    self.line(format!("{h} = {e};"));
                }
                3 => {
                    let n = self.size();
                    let depth = self.r.range(1, 4) as u32;
                    let e = self.vector(n, depth);
                    let y = self.fresh("y");
                    self.line(format!("let {y} = {e};"));
                    self.names.push((y, Kind::Vector(n)));
                }
                _ => self.population(),
            }
        }
        for _ in 0..self.r.range(1, 2) {
            let readable: Vec<(String, Kind)> = self
                .names
                .iter()
                .filter(|(_, k)| matches!(k, Kind::Vector(_) | Kind::Population(..)))
                .cloned()
                .collect();
            let (name, kind) = self.r.pick(&readable).clone();
            let o = self.fresh("o");
            match kind {
                Kind::Population(..) if self.r.chance(0.5) => {
                    self.line(format!("output {name};"));
                    self.names.retain(|(s, _)| *s != name);
                    self.names.push((name, Kind::Number));
                }
                Kind::Vector(n) | Kind::Population(n, _) => {
                    let depth = self.r.range(0, 2) as u32;
                    let e = if self.r.chance(0.5) {
                        name
                    } else {
                        self.vector(n, depth)
                    };
                    self.line(format!("output {o} = {e};"));
                }
                _ => {}
            }
        }
        let mut text = self.out.join("\n");
        text.push('\n');
        text
    }
}

/// A program of the language, from `r`; `available` lists arrays it may
/// load (from files next to it).
pub fn program(r: &mut Rng, available: &[Available]) -> String {
    Gen {
        r,
        names: Vec::new(),
        out: Vec::new(),
        next: 0,
        available,
    }
    .program()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax;

    #[test]
    fn generated_programs_parse() {
        // The generator writes the grammar; only the mutators break it.
        for i in 0..200 {
            let mut r = Rng::new(5, i);
            let text = program(&mut r, &[]);
            let (_, d) = syntax::parse(&text);
            assert!(d.is_empty(), "{text}\n{d:?}");
        }
    }
}
