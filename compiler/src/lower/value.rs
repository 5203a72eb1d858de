//! Compile-time values: numbers that carry a time dimension, tensors,
//! strings, and seeded initializers that still wait for a shape.
//!
//! Times are kept in picoseconds (as `f64`, whole numbers for every literal
//! duration), so that `20ms / 0.5ms` divides two exact integers.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use snn_ir::tensor::{Init, Origin, ShapeFmt, Tensor, Values};
use snn_ir::{Span, TensorId};

use crate::syntax::ast::BinOp;

/// A tensor known at compile time, added to the graph the first time it is used.
#[derive(Debug)]
pub struct CTensor {
    pub tensor: Tensor,
    pub id: Cell<Option<TensorId>>,
}

impl CTensor {
    pub fn new(tensor: Tensor) -> Rc<Self> {
        Rc::new(CTensor {
            tensor,
            id: Cell::new(None),
        })
    }
}

/// A value known at compile time. `dim` is the power of time (0: a plain
/// number, 1: a duration in picoseconds, −1: a rate per picosecond).
#[derive(Debug, Clone)]
pub enum CVal {
    Num(f64, i8),
    Tensor(Rc<CTensor>, i8),
    Str(String),
    /// An initializer (`normal(...)`) whose shape comes from where it is used.
    Init(Init, Span),
}

impl CVal {
    pub fn describe(&self) -> String {
        match self {
            CVal::Num(v, 0) => format!("the number {v}"),
            CVal::Num(..) => "a duration".into(),
            CVal::Tensor(t, _) => format!("a tensor of shape {}", ShapeFmt(t.tensor.shape())),
            CVal::Str(_) => "a string".into(),
            CVal::Init(i, _) => format!("the initializer `{}`", i.name()),
        }
    }
}

/// Why a compile-time operation failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstError {
    /// Operands of `+`/`-` with different time dimensions.
    Units(BinOp, i8, i8),
    Shapes(Vec<u32>, Vec<u32>),
    NotANumber(String),
    /// An initializer used in arithmetic before it has a shape.
    Unshaped,
    /// `+`/`-` with a sparse tensor would fill its zeros.
    SparseFill,
    /// A function of a duration (e.g. `exp(20ms)`).
    NeedsPlainNumber(&'static str),
}

impl ConstError {
    pub fn message(&self) -> String {
        match self {
            ConstError::Units(op, a, b) => format!(
                "bad unit: `{}` of {} and {}",
                op.symbol(),
                dim_name(*a),
                dim_name(*b)
            ),
            ConstError::Shapes(a, b) => {
                format!("shape mismatch: {} and {}", ShapeFmt(a), ShapeFmt(b))
            }
            ConstError::NotANumber(what) => format!("{what} is not a number"),
            ConstError::Unshaped => "an initializer has no shape yet".into(),
            ConstError::SparseFill => "adding to a sparse tensor would fill its zeros".into(),
            ConstError::NeedsPlainNumber(f) => format!("bad unit: `{f}` of a duration"),
        }
    }
}

/// `a plain number`, `a duration`, `a rate (per time)`.
pub fn dim_name(d: i8) -> String {
    match d {
        0 => "a plain number".into(),
        1 => "a duration".into(),
        -1 => "a rate (per time)".into(),
        d => format!("a quantity of time^{d}"),
    }
}

fn values_f64(t: &Tensor) -> Option<Vec<f64>> {
    if let Some(v) = t.f32s() {
        Some(v.iter().map(|&x| x as f64).collect())
    } else {
        t.i32s().map(|v| v.iter().map(|&x| x as f64).collect())
    }
}

/// A tensor like `like` (same layout) with new values; `i32` when every value
/// is a whole number and `int` is asked for.
fn rebuild(like: &Tensor, vals: Vec<f64>, int: bool) -> Tensor {
    let values = if int {
        Values::I32(vals.iter().map(|&v| v as i32).collect::<Vec<_>>().into())
    } else {
        Values::F32(vals.iter().map(|&v| v as f32).collect::<Vec<_>>().into())
    };
    let built = match like.pattern() {
        Some(p) => Tensor::sparse(Arc::clone(p), values, Origin::Derived),
        None => Tensor::dense(like.shape().to_vec(), values, Origin::Derived),
    };
    // The layout is copied from a valid tensor with the same number of values.
    built.expect("same layout as an existing tensor")
}

fn is_int_tensor(t: &Tensor) -> bool {
    t.i32s().is_some()
}

fn fits_i32(v: f64) -> bool {
    v.fract() == 0.0 && v >= i32::MIN as f64 && v <= i32::MAX as f64
}

/// `a op b` on compile-time values.
pub fn binary(op: BinOp, a: &CVal, b: &CVal) -> Result<CVal, ConstError> {
    let dim = |da: i8, db: i8| -> Result<i8, ConstError> {
        match op {
            BinOp::Add | BinOp::Sub if da != db => Err(ConstError::Units(op, da, db)),
            BinOp::Add | BinOp::Sub => Ok(da),
            BinOp::Mul => Ok(da + db),
            BinOp::Div => Ok(da - db),
            BinOp::MatVec => Ok(da + db),
        }
    };
    let f = |x: f64, y: f64| match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul | BinOp::MatVec => x * y,
        BinOp::Div => x / y,
    };
    match (a, b) {
        (CVal::Num(x, dx), CVal::Num(y, dy)) => Ok(CVal::Num(f(*x, *y), dim(*dx, *dy)?)),
        (CVal::Tensor(t, dt), CVal::Num(y, dy)) | (CVal::Num(y, dy), CVal::Tensor(t, dt)) => {
            let d = dim(*dt, *dy)?;
            let scalar_first = matches!(a, CVal::Num(..));
            if t.tensor.is_sparse() && matches!(op, BinOp::Add | BinOp::Sub) {
                return Err(ConstError::SparseFill);
            }
            if t.tensor.is_sparse() && scalar_first && op == BinOp::Div {
                return Err(ConstError::SparseFill);
            }
            let vals = values_f64(&t.tensor).ok_or(ConstError::Unshaped)?;
            let out: Vec<f64> = vals
                .into_iter()
                .map(|v| if scalar_first { f(*y, v) } else { f(v, *y) })
                .collect();
            let int =
                is_int_tensor(&t.tensor) && op != BinOp::Div && out.iter().all(|&v| fits_i32(v));
            Ok(CVal::Tensor(CTensor::new(rebuild(&t.tensor, out, int)), d))
        }
        (CVal::Tensor(ta, da), CVal::Tensor(tb, db)) => {
            let d = dim(*da, *db)?;
            let (x, y) = (&ta.tensor, &tb.tensor);
            if x.shape() != y.shape() || x.is_sparse() || y.is_sparse() {
                return Err(ConstError::Shapes(x.shape().to_vec(), y.shape().to_vec()));
            }
            let (vx, vy) = (
                values_f64(x).ok_or(ConstError::Unshaped)?,
                values_f64(y).ok_or(ConstError::Unshaped)?,
            );
            let out: Vec<f64> = vx.into_iter().zip(vy).map(|(p, q)| f(p, q)).collect();
            let int = is_int_tensor(x)
                && is_int_tensor(y)
                && op != BinOp::Div
                && out.iter().all(|&v| fits_i32(v));
            Ok(CVal::Tensor(CTensor::new(rebuild(x, out, int)), d))
        }
        (CVal::Init(..), _) | (_, CVal::Init(..)) => Err(ConstError::Unshaped),
        (CVal::Str(_), _) | (_, CVal::Str(_)) => Err(ConstError::NotANumber("a string".into())),
    }
}

/// `f(a)` elementwise on a compile-time value; `f` must keep zeros at zero
/// for sparse tensors (every function here does except `exp`, `sigmoid`).
pub fn unary(
    name: &'static str,
    a: &CVal,
    f: impl Fn(f64) -> f64,
    keeps_dim: bool,
) -> Result<CVal, ConstError> {
    match a {
        CVal::Num(x, d) => {
            if !keeps_dim && *d != 0 {
                return Err(ConstError::NeedsPlainNumber(name));
            }
            Ok(CVal::Num(f(*x), *d))
        }
        CVal::Tensor(t, d) => {
            if !keeps_dim && *d != 0 {
                return Err(ConstError::NeedsPlainNumber(name));
            }
            if t.tensor.is_sparse() && f(0.0) != 0.0 {
                return Err(ConstError::SparseFill);
            }
            let vals = values_f64(&t.tensor).ok_or(ConstError::Unshaped)?;
            let out: Vec<f64> = vals.into_iter().map(f).collect();
            let int = is_int_tensor(&t.tensor) && out.iter().all(|&v| fits_i32(v));
            Ok(CVal::Tensor(CTensor::new(rebuild(&t.tensor, out, int)), *d))
        }
        CVal::Init(..) => Err(ConstError::Unshaped),
        CVal::Str(_) => Err(ConstError::NotANumber("a string".into())),
    }
}

/// Converts to `f32`, or says why not.
pub fn to_f32(v: f64) -> Result<f32, String> {
    if v.is_nan() {
        return Err("the value is not a number (NaN)".into());
    }
    if v.is_infinite() {
        return Err("the value is infinite".into());
    }
    if v.abs() > f32::MAX as f64 {
        return Err(format!("{v:e} does not fit in a 32-bit float"));
    }
    Ok(v as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(v: f64) -> CVal {
        CVal::Num(v, 0)
    }

    fn dense(v: Vec<f32>) -> CVal {
        let n = v.len() as u32;
        CVal::Tensor(
            CTensor::new(Tensor::from_f32(vec![n], v, Origin::Literal).unwrap()),
            0,
        )
    }

    #[test]
    fn numbers_and_units() {
        let ms = CVal::Num(1e9, 1);
        let r = binary(BinOp::Div, &CVal::Num(2e10, 1), &ms).unwrap();
        assert!(matches!(r, CVal::Num(v, 0) if v == 20.0));
        let e = binary(BinOp::Add, &ms, &num(1.0)).unwrap_err();
        assert_eq!(
            e.message(),
            "bad unit: `+` of a duration and a plain number"
        );
    }

    #[test]
    fn tensors_broadcast_scalars() {
        let r = binary(BinOp::Sub, &num(1.0), &dense(vec![0.25, 2.0])).unwrap();
        let CVal::Tensor(t, 0) = r else { panic!() };
        assert_eq!(t.tensor.f32s().unwrap(), &[0.75, -1.0]);
        let e = binary(BinOp::Mul, &dense(vec![1.0]), &dense(vec![1.0, 2.0])).unwrap_err();
        assert_eq!(e.message(), "shape mismatch: [1] and [2]");
    }

    #[test]
    fn functions_of_durations_are_refused() {
        let e = unary("exp", &CVal::Num(5.0, 1), f64::exp, false).unwrap_err();
        assert_eq!(e.message(), "bad unit: `exp` of a duration");
        assert_eq!(
            to_f32(1e39).unwrap_err(),
            "1e39 does not fit in a 32-bit float"
        );
    }
}
