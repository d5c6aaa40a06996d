"""Regenerate data/Iris.csv from the copy of Fisher's data bundled with scikit-learn.

Run from the repository root:  python data/make_iris_csv.py
The output is byte-for-byte what is committed; tests/test_data.py checks both the file's
checksum and, value by value, that it still matches scikit-learn's copy.
"""

from pathlib import Path

from sklearn.datasets import load_iris

HEADER = "Id,SepalLengthCm,SepalWidthCm,PetalLengthCm,PetalWidthCm,Species"


def main() -> None:
    iris = load_iris()
    lines = [HEADER]
    for row_id, (values, label) in enumerate(zip(iris.data, iris.target, strict=True), start=1):
        measurements = ",".join(f"{v:.1f}" for v in values)
        lines.append(f"{row_id},{measurements},Iris-{iris.target_names[label]}")
    out = Path(__file__).with_name("Iris.csv")
    out.write_text("\n".join(lines) + "\n", encoding="ascii")
    print(f"wrote {len(lines) - 1} rows to {out}")


if __name__ == "__main__":
    main()
