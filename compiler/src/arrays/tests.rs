//! Tests across formats: round trips of every dtype, `open`, conversions,
//! and the errors of writers.

use std::path::Path;

use half::{bf16, f16};

use super::testdir::TestDir;
use super::*;

/// An array of `dtype` holding the extremes and awkward values of the type.
fn sample(dtype: Element) -> Array {
    let values = match dtype {
        Element::F16 => Values::F32(vec![
            0.0,
            -0.0,
            -1.5,
            f16::MAX.to_f32(),
            f16::MIN_POSITIVE.to_f32(),
            f16::from_bits(1).to_f32(),
            f32::INFINITY,
        ]),
        Element::BF16 => Values::F32(vec![
            1.0,
            -2.5,
            0.15625,
            bf16::MAX.to_f32(),
            bf16::from_bits(1).to_f32(),
            f32::NEG_INFINITY,
        ]),
        Element::F32 => Values::F32(vec![f32::MAX, f32::MIN_POSITIVE, -0.0, 1e-45, 0.1, -7.25]),
        Element::F64 => Values::F64(vec![f64::MAX, 0.1, -1e-300, 5e-324, f64::NEG_INFINITY, 3.0]),
        Element::I8 => Values::Int(vec![-128, 127, 0, -1]),
        Element::I16 => Values::Int(vec![-32768, 32767, 0, 1]),
        Element::I32 => Values::Int(vec![i32::MIN.into(), i32::MAX.into(), 0, -5]),
        Element::I64 => Values::Int(vec![i64::MIN, i64::MAX, 0, 42]),
        Element::U8 => Values::Int(vec![0, 255, 17, 1]),
        Element::U16 => Values::Int(vec![0, 65535, 300, 2]),
        Element::U32 => Values::Int(vec![0, u32::MAX.into(), 70000, 3]),
        Element::U64 => Values::Int(vec![0, i64::MAX, 1 << 40, 4]),
        Element::Bool => Values::Bool(vec![true, false, false, true]),
    };
    let n = values.len();
    // Even lengths become matrices, to exercise 2-d shapes as well.
    let shape = if n % 2 == 0 { vec![2, n / 2] } else { vec![n] };
    Array {
        shape,
        dtype,
        values,
    }
}

/// `e` as text, with the directory removed from paths.
fn show(dir: &TestDir, e: ArrayError) -> String {
    e.to_string()
        .replace(&format!("{}/", dir.path().display()), "")
}

#[test]
fn every_dtype_round_trips_through_npy() {
    let dir = TestDir::new("rt-npy");
    for dtype in Element::ALL {
        if dtype == Element::BF16 {
            continue; // numpy has no bfloat16 (tested in npy.rs)
        }
        let a = sample(dtype);
        let path = dir.path().join(format!("{dtype}.npy"));
        write_npy(&path, &a).unwrap();
        assert_eq!(read_npy(&path).unwrap(), a, "{dtype}");
        let mut f = open(&path).unwrap();
        assert_eq!(f.names(), vec![dtype.to_string()]);
        assert!(f.is_single());
        assert_eq!(f.get(dtype.name()).unwrap(), a, "{dtype}");
        assert_eq!(f.get("").unwrap(), a, "{dtype}");
        // Data is 64-byte aligned, as numpy writes it.
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        assert_eq!((len - a.len() * dtype.size()) % 64, 0, "{dtype}");
    }
}

#[test]
fn every_dtype_round_trips_through_npz() {
    let dir = TestDir::new("rt-npz");
    let arrays: Vec<(String, Array)> = Element::ALL
        .into_iter()
        .filter(|&d| d != Element::BF16)
        .map(|d| (d.to_string(), sample(d)))
        .collect();
    let refs: Vec<(&str, &Array)> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
    let path = dir.path().join("all.npz");
    write_npz(&path, &refs).unwrap();
    let mut f = open(&path).unwrap();
    assert_eq!(
        f.names(),
        arrays.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
    );
    for (name, a) in &arrays {
        assert_eq!(&f.get(name).unwrap(), a, "{name}");
    }
}

#[test]
fn every_dtype_round_trips_through_safetensors() {
    let dir = TestDir::new("rt-st");
    let arrays: Vec<(String, Array)> = Element::ALL
        .into_iter()
        .map(|d| (d.to_string(), sample(d)))
        .collect();
    let refs: Vec<(&str, &Array)> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
    let path = dir.path().join("all.safetensors");
    write_safetensors(&path, &refs).unwrap();
    let mut f = open(&path).unwrap();
    let mut names = f.names();
    names.sort();
    let mut expected: Vec<String> = arrays.iter().map(|(n, _)| n.clone()).collect();
    expected.sort();
    assert_eq!(names, expected);
    for (name, a) in &arrays {
        assert_eq!(&f.get(name).unwrap(), a, "{name}");
    }
    // Scalars and empty arrays too.
    let scalar = Array::f32(vec![], vec![4.5]);
    let empty = Array::i32(vec![0, 3], vec![]);
    write_safetensors(&path, &[("s", &scalar), ("e", &empty)]).unwrap();
    let mut f = open(&path).unwrap();
    assert_eq!((f.get("s").unwrap(), f.get("e").unwrap()), (scalar, empty));
}

#[test]
fn open_reports_missing_files_unknown_formats_and_directories() {
    let missing = Path::new("no/such/dir/weights.npz");
    assert_eq!(
        open(missing).unwrap_err().to_string(),
        "cannot open no/such/dir/weights.npz: no such file"
    );
    assert!(matches!(open(missing), Err(ArrayError::NotFound { .. })));
    assert_eq!(
        open(Path::new("weights.h5")).unwrap_err().to_string(),
        "cannot read weights.h5: unsupported file type; snnc reads .npy, .npz and .safetensors files"
    );
    assert_eq!(
        open(Path::new("weights")).unwrap_err().to_string(),
        "cannot read weights: unsupported file type; snnc reads .npy, .npz and .safetensors files"
    );
    let dir = TestDir::new("open-dir");
    std::fs::create_dir(dir.path().join("d.npz")).unwrap();
    assert_eq!(
        show(&dir, open(&dir.path().join("d.npz")).unwrap_err()),
        "cannot read d.npz: it is a directory"
    );
    // Extensions are matched without regard to case.
    let path = dir.path().join("UPPER.NPY");
    write_npy(&path, &Array::f32(vec![1], vec![1.0])).unwrap();
    assert_eq!(open(&path).unwrap().format(), Format::Npy);
}

#[test]
fn missing_names_list_what_there_is() {
    let dir = TestDir::new("missing-name");
    let path = dir.path().join("w.npy");
    write_npy(&path, &Array::f32(vec![1], vec![1.0])).unwrap();
    let err = open(&path).unwrap().get("W").unwrap_err();
    assert_eq!(
        show(&dir, err.clone()),
        "w.npy has no array `W`; it has `w`"
    );
    let ArrayError::MissingArray {
        name, available, ..
    } = err
    else {
        panic!("expected MissingArray");
    };
    assert_eq!((name.as_str(), available), ("W", vec!["w".to_string()]));
    let many: Vec<(String, Array)> = (0..12)
        .map(|i| (format!("a{i}"), Array::f32(vec![], vec![0.0])))
        .collect();
    let refs: Vec<(&str, &Array)> = many.iter().map(|(n, a)| (n.as_str(), a)).collect();
    let path = dir.path().join("many.safetensors");
    write_safetensors(&path, &refs).unwrap();
    let err = open(&path).unwrap().get("b").unwrap_err();
    assert_eq!(
        show(&dir, err),
        "many.safetensors has no array `b`; it has `a0`, `a1`, `a10`, `a11`, `a2`, `a3`, `a4`, `a5`, `a6`, \
         `a7` and 2 more"
    );
}

#[test]
fn writers_refuse_inconsistent_arrays_and_write_nothing() {
    let dir = TestDir::new("invalid");
    let cases = [
        (
            Array::f32(vec![2, 3], vec![1.0; 5]),
            "cannot write `x` to out.npz: shape [2, 3] needs 6 values, found 5",
        ),
        (
            Array {
                shape: vec![2],
                dtype: Element::I32,
                values: Values::F32(vec![1.0, 2.0]),
            },
            "cannot write `x` to out.npz: dtype int32 does not match its values (Values::F32)",
        ),
        (
            Array {
                shape: vec![3],
                dtype: Element::U8,
                values: Values::Int(vec![1, 300, -1]),
            },
            "cannot write `x` to out.npz: value 300 at [1] is outside the range of uint8",
        ),
        (
            Array {
                shape: vec![2, 2],
                dtype: Element::F16,
                values: Values::F32(vec![1.0, 2.0, 3.0, 70000.0]),
            },
            "cannot write `x` to out.npz: value 70000.0 at [1, 1] is outside the range of float16",
        ),
    ];
    for (array, message) in &cases {
        let npz = dir.path().join("out.npz");
        assert_eq!(
            show(&dir, write_npz(&npz, &[("x", array)]).unwrap_err()),
            *message
        );
        let st = dir.path().join("out.safetensors");
        let st_message = message.replace("out.npz", "out.safetensors");
        assert_eq!(
            show(&dir, write_safetensors(&st, &[("x", array)]).unwrap_err()),
            st_message
        );
        let npy = dir.path().join("out.npy");
        let npy_message = message.replace("`x` to out.npz", "out.npy");
        assert_eq!(show(&dir, write_npy(&npy, array).unwrap_err()), npy_message);
    }
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn to_f32_converts_exactly_or_says_why_not() {
    let a = Array {
        shape: vec![3],
        dtype: Element::F64,
        values: Values::F64(vec![0.5, 1e300, f64::INFINITY]),
    };
    assert_eq!(
        a.to_f32().unwrap_err().to_string(),
        "has value 1e300 at [1], outside the range of float32"
    );
    let a = Array {
        shape: vec![],
        dtype: Element::F64,
        values: Values::F64(vec![-1e39]),
    };
    assert_eq!(
        a.to_f32().unwrap_err().to_string(),
        "has value -1e39, outside the range of float32"
    );
    let a = Array {
        shape: vec![3],
        dtype: Element::F64,
        values: Values::F64(vec![0.1, f64::NAN, f64::NEG_INFINITY]),
    };
    let v = a.to_f32().unwrap();
    assert_eq!((v[0], v[1].is_nan(), v[2]), (0.1, true, f32::NEG_INFINITY));

    let ints = Array {
        shape: vec![2, 2],
        dtype: Element::I64,
        values: Values::Int(vec![16777216, -16777216, 16777217, 0]),
    };
    let err = ints.to_f32().unwrap_err();
    assert_eq!(
        err,
        ConvertError::Inexact {
            value: 16777217,
            at: vec![1, 0]
        }
    );
    assert_eq!(
        err.to_string(),
        "has value 16777217 at [1, 0]; float32 holds integers exactly only up to 16777216 in magnitude"
    );
    let ok = Array::i32(vec![2], vec![16777216, -3]);
    assert_eq!(ok.to_f32().unwrap(), vec![16777216.0, -3.0]);

    let b = Array {
        shape: vec![1],
        dtype: Element::Bool,
        values: Values::Bool(vec![true]),
    };
    assert_eq!(
        b.to_f32().unwrap_err().to_string(),
        "has dtype bool; float32 values are needed"
    );
    let f = Array::f32(vec![2], vec![1.0, 2.0]);
    assert_eq!(f.to_f32().unwrap(), vec![1.0, 2.0]);
    assert_eq!(f.into_f32().unwrap(), vec![1.0, 2.0]);
}

#[test]
fn to_i32_takes_integers_in_range_only() {
    let a = Array {
        shape: vec![3],
        dtype: Element::U32,
        values: Values::Int(vec![0, 2147483647, 2147483648]),
    };
    assert_eq!(
        a.to_i32().unwrap_err().to_string(),
        "has value 2147483648 at [2], outside the range of int32"
    );
    let a = Array::i32(vec![2], vec![i32::MIN, 7]);
    assert_eq!(a.to_i32().unwrap(), vec![i32::MIN, 7]);
    let f = Array::f32(vec![1], vec![1.0]);
    assert_eq!(
        f.to_i32().unwrap_err().to_string(),
        "has dtype float32; int32 values are needed"
    );
    assert_eq!(
        f.to_i32().unwrap_err(),
        ConvertError::Dtype {
            dtype: Element::F32,
            wanted: "int32"
        }
    );
}

#[test]
fn element_names_are_numpy_names() {
    let names: Vec<String> = Element::ALL.iter().map(Element::to_string).collect();
    assert_eq!(
        names,
        [
            "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
            "uint8", "uint16", "uint32", "uint64", "bool"
        ]
    );
    let a = Array::i32(vec![2, 2], vec![1, 2, 3, 4]);
    assert_eq!((a.len(), a.is_empty(), a.dtype), (4, false, Element::I32));
    assert!(Array::f32(vec![0], vec![]).is_empty());
}

#[test]
fn a_large_array_round_trips() {
    // Several read chunks, through all three formats.
    let n = 300_000;
    let a = Array::f32(vec![n / 3, 3], (0..n).map(|i| i as f32 * 0.5).collect());
    let dir = TestDir::new("large");
    let npy = dir.path().join("big.npy");
    write_npy(&npy, &a).unwrap();
    assert_eq!(read_npy(&npy).unwrap(), a);
    let npz = dir.path().join("big.npz");
    write_npz(&npz, &[("a", &a)]).unwrap();
    assert_eq!(open(&npz).unwrap().get("a").unwrap(), a);
    let st = dir.path().join("big.safetensors");
    write_safetensors(&st, &[("a", &a)]).unwrap();
    assert_eq!(open(&st).unwrap().get("a").unwrap(), a);
}
