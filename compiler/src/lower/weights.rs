//! Weight matrices as projections keep them: a dense matrix that is mostly
//! zeros (at most `snn_ir::tensor::SPARSE_DENSITY` of its entries nonzero)
//! keeps only its nonzero entries, so that `check`, the passes, placement
//! and the reference all see the synapses that exist.

use std::rc::Rc;

use snn_ir::tensor::{Origin, Tensor};
use snn_ir::{Span, TensorId};

use super::Lowerer;
use super::value::CTensor;

impl Lowerer<'_> {
    /// The graph tensor for weights `t` (of a projection or of `@`): sparse
    /// when `t` is a mostly-zero dense matrix, else as
    /// [`Lowerer::f32_tensor`] makes it. Integer weights are converted to
    /// `f32` first (and, when sparse, recorded as derived: the file holds
    /// integers).
    pub(super) fn weight_tensor(&mut self, t: &Rc<CTensor>, span: Span) -> Option<TensorId> {
        if let Some(id) = t.id.get()
            && self.g.tensor(id).f32s().is_some()
        {
            return Some(id);
        }
        let sparse = match t.tensor.i32s() {
            Some(ints) if !t.tensor.is_sparse() => {
                let floats = ints.iter().map(|&v| v as f32).collect();
                Tensor::from_f32(t.tensor.shape().to_vec(), floats, Origin::Derived)
                    .ok()
                    .and_then(|f| f.sparse_if_mostly_zero())
            }
            _ => t.tensor.sparse_if_mostly_zero(),
        };
        match sparse {
            Some(s) => {
                let id = self.g.add_tensor(s);
                t.id.set(Some(id));
                Some(id)
            }
            None => self.f32_tensor(t, span),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use ndarray::{Array2, array};
    use snn_ir::tensor::Origin;
    use snn_ir::{Delay, Graph, Op, Projection};
    use snn_runtime::reference::{Inputs, simulate};

    use crate::arrays::{Array, write_npz};

    /// A fresh directory holding `model.snn` and `w.npz` with `arrays`.
    fn model(name: &str, source: &str, arrays: &[(&str, &Array)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("snnc-weights-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_npz(&dir.join("w.npz"), arrays).unwrap();
        let path = dir.join("model.snn");
        std::fs::write(&path, source).unwrap();
        path
    }

    fn load(path: &Path) -> Graph {
        crate::driver::load(path)
            .unwrap_or_else(|r| panic!("{}", r.render(false)))
            .0
    }

    /// The projections' weights and delays, in node order.
    fn projections(g: &Graph) -> Vec<Projection> {
        g.nodes()
            .into_iter()
            .filter_map(|n| match g.op(n) {
                Op::Project(p) => Some(*p),
                _ => None,
            })
            .collect()
    }

    #[rustfmt::skip]
    const W: [f32; 20] = [
        0.0, 2.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0,
        0.5, 0.0, 0.0, 0.0, -1.0,
        0.0, 0.0, 0.0, 0.0, 0.0,
    ];
    #[rustfmt::skip]
    const D: [i32; 20] = [
        7, 2, 7, 7, 7,
        7, 7, 7, 7, 7,
        0, 7, 7, 7, 1,
        7, 7, 7, 7, 7,
    ];
    const SOURCE: &str = "timestep 1ms;\n\
        input x[5];\n\
        const W: [4, 5] = load(\"w.npz\", \"W\");\n\
        const D: [4, 5] = load(\"w.npz\", \"D\");\n\
        population p: if[4] { threshold = 0.4; }\n\
        x -> p { weight = W; delay = D; }\n\
        output y = W @ x;\n\
        output s = p;\n";

    #[test]
    fn mostly_zero_dense_weights_keep_their_synapses_only() {
        let w = Array::f32(vec![4, 5], W.to_vec());
        let d = Array::i32(vec![4, 5], D.to_vec());
        let path = model("sparse", SOURCE, &[("W", &w), ("D", &d)]);
        let g = load(&path);
        let ps = projections(&g);
        assert_eq!(ps.len(), 2);
        // One sparse tensor, shared by the projection and `@`.
        assert_eq!(ps[0].weights, ps[1].weights);
        let t = g.tensor(ps[0].weights);
        assert_eq!(t.type_string(), "f32[4, 5] nnz=3");
        assert_eq!(t.pattern().unwrap().row_ptr, vec![0, 1, 1, 3, 3]);
        assert_eq!(t.pattern().unwrap().col_idx, vec![1, 0, 4]);
        assert_eq!(t.f32s().unwrap(), &[2.0, 0.5, -1.0]);
        assert!(matches!(t.origin(), Origin::File { .. }));
        // The dense delay matrix is read at the synapses.
        let delays = ps
            .iter()
            .find_map(|p| match p.delay {
                Delay::PerSynapse(d) => Some(g.tensor(d)),
                Delay::Const(_) => None,
            })
            .unwrap();
        assert_eq!(delays.i32s().unwrap(), &[2, 0, 1]);
        assert_eq!(
            crate::cli::check::summary(&g),
            "timestep 1ms; 1 input (5 columns), 1 population (4 neurons), \
             2 projections (6 synapses), 0 states, 2 outputs"
        );

        // y = W x; neuron 2 gets 0.5 at once (fires), neuron 0 gets 2 two
        // steps late (fires), neuron 2 gets -1 one step late.
        let x = array![
            [1.0f32, 1.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 1.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],
        ];
        let out = simulate(&g, &Inputs::split(&g, x.view()).unwrap(), 3).unwrap();
        let y: Array2<f32> = array![[2.0, 0.0, 0.5, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0; 4]];
        assert_eq!(out.get("y").unwrap(), &y);
        let s: Array2<f32> = array![[0.0, 0.0, 1.0, 0.0], [0.0; 4], [1.0, 0.0, 0.0, 0.0]];
        assert_eq!(out.get("s").unwrap(), &s);

        // The dump says `nnz=` beside `load(...)`; reading it back drops
        // the loaded array's zeros again, to the same tensor.
        let text = snn_ir::text::print(&g, Default::default());
        assert!(text.contains("f32[4, 5] nnz=3 = load(\"w.npz\", \"W\") #"));
        let dump = path.with_file_name("model.ir");
        std::fs::write(&dump, &text).unwrap();
        let back = load(&dump);
        assert_eq!(snn_ir::text::print(&back, Default::default()), text);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn denser_weights_stay_dense_and_check_counts_their_nonzeros() {
        let w = Array::f32(vec![2, 3], vec![0.0, 1.0, 0.0, 0.0, 0.0, -2.0]);
        let src = "timestep 1ms;\ninput x[3];\nconst W: [2, 3] = load(\"w.npz\", \"W\");\n\
                   population p: if[2];\nx -> p { weight = W; }\noutput s = p;\n";
        let path = model("dense", src, &[("W", &w)]);
        let g = load(&path);
        let t = g.tensor(projections(&g)[0].weights);
        assert_eq!(t.type_string(), "f32[2, 3]");
        assert!(
            crate::cli::check::summary(&g).contains("1 projection (2 synapses)"),
            "{}",
            crate::cli::check::summary(&g)
        );
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn mostly_zero_integer_weights_become_sparse_floats() {
        let w = Array::i32(vec![3, 3], vec![0, 0, 0, 0, 3, 0, 0, 0, 0]);
        let src = "timestep 1ms;\ninput x[3];\nconst C: [3, 3] = load(\"w.npz\", \"C\");\n\
                   population p: if[3];\nx -> p { weight = C; }\noutput s = p;\n";
        let path = model("int", src, &[("C", &w)]);
        let g = load(&path);
        let t = g.tensor(projections(&g)[0].weights);
        assert_eq!(t.type_string(), "f32[3, 3] nnz=1");
        assert_eq!(t.f32s().unwrap(), &[3.0]);
        assert_eq!(t.origin(), &Origin::Derived);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
