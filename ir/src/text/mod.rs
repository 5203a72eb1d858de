//! The line-oriented text format of the IR: printer and parser.

mod parse;
mod print;

pub use parse::{NoFiles, ParseError, TensorLoader, parse};
pub use print::{PrintOptions, SMALL_TENSOR, print};

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::op::*;
    use crate::tensor::{Dist, Init, Origin, SparsePattern, Tensor, Values};
    use crate::{Duration, Graph, Span, verify};

    fn sample() -> Graph {
        let mut g = Graph::new(Duration::parse("0.5ms").unwrap());
        g.source = Some("net/model.snn".into());
        let w = g.add_tensor(
            Tensor::from_f32(
                vec![2, 3],
                vec![0.5, -1.0, 0.25, 2.0, 0.0, 1e-7],
                Origin::Literal,
            )
            .unwrap(),
        );
        let init = Init::Sparse {
            density: 0.5,
            dist: Dist::Normal {
                mean: 0.0,
                std: 0.1,
            },
            seed: 9,
        };
        let data = init.generate(&[2, 2]).unwrap();
        let pattern = data.pattern.clone().unwrap();
        let r =
            g.add_tensor(Tensor::sparse(pattern.clone(), data.values, Origin::Init(init)).unwrap());
        let d = g.add_tensor(
            Tensor::sparse(
                pattern.clone(),
                Values::I32(vec![1; pattern.col_idx.len()].into()),
                Origin::Derived,
            )
            .unwrap(),
        );
        let thr = g.add_tensor(Tensor::from_f32(vec![2], vec![1.0, 1.5], Origin::Derived).unwrap());
        let csr = g.add_tensor(
            Tensor::sparse(
                Arc::new(SparsePattern::diagonal(2)),
                Values::F32(vec![1.0, -1.0].into()),
                Origin::Derived,
            )
            .unwrap(),
        );
        let x = g.add(
            Op::Input {
                name: "x".into(),
                size: 3,
            },
            &[],
        );
        g.set_span(x, Span::new(10, 21));
        let px = g.add(
            Op::Project(Projection {
                weights: w,
                delay: Delay::Const(0),
            }),
            &[x],
        );
        let model = Model::new(
            ModelKind::Lif,
            [
                ("alpha_mem".into(), ParamValue::Real(Const::Scalar(0.9))),
                ("threshold".into(), ParamValue::Real(Const::Tensor(thr))),
                ("refractory".into(), ParamValue::Steps(2)),
            ],
        )
        .unwrap();
        let pop = g.add(Op::Population(Population { size: 2, model }), &[px]);
        g.set_name(pop, "hid \"a\"");
        let rec = g.add(
            Op::Project(Projection {
                weights: r,
                delay: Delay::PerSynapse(d),
            }),
            &[pop],
        );
        g.push_arg(pop, rec);
        let diag = g.add(
            Op::Project(Projection {
                weights: csr,
                delay: Delay::Const(0),
            }),
            &[pop],
        );
        let h = g.add(
            Op::State {
                size: 2,
                init: Const::Scalar(0.0),
            },
            &[],
        );
        let a = g.add(Op::Const(Const::Scalar(0.8)), &[]);
        let m = g.add(Op::Binary(BinaryFn::Mul), &[a, h]);
        let s = g.add(Op::Binary(BinaryFn::Add), &[m, diag]);
        let c = g.add(Op::Clamp { lo: 0.0, hi: 6.0 }, &[s]);
        g.push_arg(h, c);
        g.set_quant(
            px,
            crate::Quant {
                kind: crate::QuantKind::Loihi { bits: 8, exp: -2 },
                scale: 0.25,
            },
        );
        g.set_range(
            pop,
            crate::Range {
                state: 6.5,
                sends: 1.0,
                origin: crate::RangeOrigin::Calibrated,
            },
        );
        let v = g.add(Op::Probe(ProbeVar::V), &[pop]);
        g.add(Op::Output { name: "y".into() }, &[c]);
        g.add(Op::Output { name: "v".into() }, &[v]);
        g
    }

    #[test]
    fn dump_parses_back_to_the_same_dump() {
        let g = sample();
        verify(&g).unwrap();
        let a = print(&g, PrintOptions::default());
        let g2 = parse(&a, &mut NoFiles).unwrap();
        verify(&g2).unwrap();
        let b = print(&g2, PrintOptions::default());
        assert_eq!(a, b);
        let with_values = print(&g, PrintOptions { values: true });
        let g3 = parse(&with_values, &mut NoFiles).unwrap();
        assert_eq!(print(&g3, PrintOptions { values: true }), with_values);
    }

    #[test]
    fn dump_text_is_stable() {
        let text = print(&sample(), PrintOptions::default());
        let nodes: Vec<&str> = text.lines().filter(|l| l.starts_with('n')).collect();
        assert_eq!(nodes[0], "n0: [3] = input \"x\" span=10..21");
        assert_eq!(
            nodes[1],
            "n1: [2] = project(n0) weights=t0 delay=0 quant=loihi(bits=8, exp=-2, scale=0.25)"
        );
        assert_eq!(
            nodes[2],
            "n2: [2] = lif(n1, n3) alpha_syn=0 alpha_mem=0.9 threshold=t1 bias=0 gain=1 \
             v_min=-inf reset=zero refractory=2 range=(state=6.5, sends=1, calibrated) \
             name=\"hid \\\"a\\\"\""
        );
        assert_eq!(nodes[5], "n5: [2] = state(n9) init=0");
        assert_eq!(nodes[9], "n9: [2] = clamp(n8) lo=0 hi=6");
        assert!(text.contains("t0: f32[2, 3] = literal [0.5, -1, 0.25, 2, 0, 0.0000001] #"));
        assert!(text.contains("= sparse(density=0.5, seed=9, values=normal(mean=0, std=0.1)) #"));
    }

    #[test]
    fn parse_errors_point_at_the_problem() {
        let bad = "snn-ir 1\ntimestep 1ms\n\nn0: [3] = input \"x\"\nn1: [3] = frobnicate(n0)\n";
        let e = parse(bad, &mut NoFiles).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 5, column 11: unknown operation `frobnicate`"
        );
        let changed = "snn-ir 1\ntimestep 1ms\n\nt0: f32[2] = literal [1, 2] #0000000000000001\n";
        let e = parse(changed, &mut NoFiles).unwrap_err();
        assert!(
            e.message
                .starts_with("the tensor's contents changed since the dump"),
            "{e}"
        );
        let bad_range =
            "snn-ir 1\ntimestep 1ms\n\nn0: [3] = input \"x\" range=(state=1, sends=1, guessed)\n";
        let e = parse(bad_range, &mut NoFiles).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 4, column 46: unknown range origin `guessed`; expected proven, calibrated or assumed"
        );
        let e = parse("snn-ir 1\n", &mut NoFiles).unwrap_err();
        assert_eq!(e.message, "missing `timestep` line");
    }
}
