"""Column roles (feature, target or dropped with a reason) and the preprocessing of raw columns.

Roles are decided once, on the training split, when a job is staged; the job, the run record and
the model's metadata carry them. Feature kinds and how each reaches the model (``to_model_frame``
for training, ``shared.models.scoring`` for requests, the same rules):

* ``numeric`` (int/float) and ``bool``: a float32 input; null -> NaN, imputed inside the graph.
* ``category`` (strings): a string input; null -> ``""``, which the one-hot encoder learns as its
  own "missing" category; a value never seen in training gets all-zero one-hot columns.
* ``datetime``: ONNX cannot parse dates, so the caller turns an ISO 8601 date/datetime into
  **days since 1970-01-01 UTC** (a float; naive times are UTC) before the graph; null -> NaN, imputed.

Nothing here imports polars or scikit-learn at module level: the pipeline spec imports this
module and ``import function_app`` must stay free of ML libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ValidationError

if TYPE_CHECKING:
    import polars as pl

Kind = Literal["numeric", "bool", "category", "datetime"]
KINDS: tuple[Kind, ...] = ("numeric", "bool", "category", "datetime")
#: Kinds fed to the model as a float32 input.
FLOAT_KINDS = ("numeric", "bool", "datetime")
#: The category a null becomes (one-hot learns it like any other value).
MISSING_CATEGORY = ""
SECONDS_PER_DAY = 86_400.0
#: Builtin trainers whose ONNX takes raw columns with the preprocessing inside (command: a matrix).
RAW_COLUMN_TRAINERS = ("sklearn", "torch_mlp")
#: Below this many non-null rows a column is too small to call "unique per row".
MIN_ROWS_FOR_ID = 20


class FeatureRules(BaseModel):
    """The spec's ``features`` section: which columns the model may use and the drop thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    include: list[str] | None = Field(
        default=None, description="Use only these columns (forced in even if id-like or high-cardinality)."
    )
    exclude: list[str] = Field(default_factory=list, description="Never use these columns.")
    max_categories: int = Field(
        default=50, ge=2, description="A text column with more distinct values is dropped (or rejected)."
    )
    too_many_categories: Literal["drop", "reject"] = Field(
        default="drop", description="drop the column with its reason, or reject the run."
    )
    id_unique_ratio: float = Field(
        default=0.95,
        gt=0,
        le=1,
        description="A text column with this share of distinct values (ints: all distinct) is id-like.",
    )
    numeric_impute: Literal["median", "mean"] = Field(default="median", description="Numeric/date nulls.")


class Roles(BaseModel):
    """Every column's role: the features with their kinds (input order), the target, the dropped."""

    model_config = ConfigDict(frozen=True)

    target: str
    features: dict[str, Kind]
    dropped: dict[str, str] = Field(default_factory=dict, description="Dropped column -> reason.")

    def non_numeric(self) -> list[str]:
        """Features that are not numbers (categories and dates)."""
        return [n for n, k in self.features.items() if k in ("category", "datetime")]


def kind_of(dtype: pl.DataType) -> Kind | None:
    """The feature kind of a polars dtype; None for types no model can use (lists, binary...)."""
    import polars as pl

    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal() and dtype != pl.Time and not isinstance(dtype, pl.Duration):
        return "datetime"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "category"
    return None


def _drop_reason(series: pl.Series, kind: Kind, rules: FeatureRules, forced: bool) -> str | None:
    """Why a column cannot be a feature, or None when it can."""
    non_null = len(series) - series.null_count()
    if non_null == 0:
        return "all values are missing"
    distinct = series.drop_nulls().n_unique()
    if distinct <= 1:
        return "constant: one distinct value"
    if forced:
        return None
    if kind == "category":
        if non_null >= MIN_ROWS_FOR_ID and distinct / non_null >= rules.id_unique_ratio:
            return f"id-like: {distinct} distinct values in {non_null} rows (features.id_unique_ratio)"
        if distinct > rules.max_categories:
            return f"{distinct} categories, more than features.max_categories={rules.max_categories}"
    if (
        kind == "numeric"
        and series.dtype.is_integer()
        and non_null >= MIN_ROWS_FOR_ID
        and distinct == non_null
    ):
        return "id-like: a distinct integer in every row"
    return None


def decide_roles(frame: pl.DataFrame, target: str, rules: FeatureRules) -> Roles:
    """Decide every column's role on the training split; ValidationError if nothing is left."""
    if target not in frame.columns:
        raise ValidationError(f"the dataset has no target column {target!r}", field="target")
    unknown = sorted({*(rules.include or []), *rules.exclude} - set(frame.columns))
    if unknown:
        raise ValidationError(f"features names columns the dataset lacks: {unknown}", field="features")
    features: dict[str, Kind] = {}
    dropped: dict[str, str] = {}
    for name in frame.columns:
        if name == target or name.startswith("__"):  # __row__ and other bookkeeping columns
            continue
        kind = kind_of(frame.schema[name])
        if name in rules.exclude:
            dropped[name] = "excluded by features.exclude"
        elif rules.include is not None and name not in rules.include:
            dropped[name] = "not in features.include"
        elif kind is None:
            dropped[name] = f"type {frame.schema[name]} cannot be a feature"
        else:
            reason = _drop_reason(frame[name], kind, rules, forced=rules.include is not None)
            if reason is not None and "max_categories" in reason and rules.too_many_categories == "reject":
                raise ValidationError(f"column {name!r} has {reason}", field=f"features.{name}")
            if reason is None:
                features[name] = kind
            else:
                dropped[name] = reason
    if not features:
        raise ValidationError(f"no column can be a feature; dropped: {dropped}", field="features")
    return Roles(target=target, features=features, dropped=dropped)


def to_model_frame(frame: pl.DataFrame, kinds: dict[str, Kind], where: str = "dataset") -> pl.DataFrame:
    """The feature columns as the model takes them: float32 (NaN for null) or strings (``""`` for null)."""
    import polars as pl

    exprs = []
    for name, kind in kinds.items():
        if name not in frame.columns:
            raise ValidationError(f"{where} lacks feature column {name!r}", field=name)
        col = pl.col(name)
        dtype = frame.schema[name]
        if kind == "category":
            exprs.append(col.cast(pl.String).fill_null(MISSING_CATEGORY).alias(name))
            continue
        if kind == "datetime":
            if not dtype.is_temporal():
                raise ValidationError(f"{where} feature {name!r} is {dtype}, not a date", field=name)
            col = col.cast(pl.Datetime("us")).dt.epoch("us").cast(pl.Float64) / (SECONDS_PER_DAY * 1e6)
        elif not (dtype.is_numeric() or dtype == pl.Boolean):
            raise ValidationError(f"{where} feature {name!r} is {dtype}, not numeric", field=name)
        # Non-finite numbers are missing values to the model (imputed like nulls).
        number = col.cast(pl.Float64)
        exprs.append(
            pl.when(number.is_finite())
            .then(number)
            .otherwise(None)
            .cast(pl.Float32)
            .fill_null(float("nan"))
            .alias(name)
        )
    return frame.select(exprs)


def preprocessor(kinds: dict[str, Kind], *, scale: bool, numeric_impute: str = "median") -> Any:
    """The unfitted ColumnTransformer: impute (+ scale) float columns, one-hot categories."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    floats = [n for n, k in kinds.items() if k in FLOAT_KINDS]
    categories = [n for n, k in kinds.items() if k == "category"]
    parts: list[tuple[str, Any, list[str]]] = []
    if floats:
        # keep_empty_features: a column null in every training row still has an output column,
        # so the graph's width never depends on the data seen.
        steps: list[Any] = [SimpleImputer(strategy=numeric_impute, keep_empty_features=True)]
        if scale:
            steps.append(StandardScaler())
        parts.append(("numeric", make_pipeline(*steps), floats))
    if categories:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        parts.append(("category", encoder, categories))
    return ColumnTransformer(parts, sparse_threshold=0.0)


def initial_types(kinds: dict[str, Kind]) -> list[tuple[str, Any]]:
    """skl2onnx input declarations: one ``[batch, 1]`` input per column, float or string."""
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    return [
        (name, StringTensorType([None, 1]) if kind == "category" else FloatTensorType([None, 1]))
        for name, kind in kinds.items()
    ]


def seen_categories(prep: Any) -> dict[str, list[str]]:
    """Category feature -> the values a fitted ``preprocessor``'s one-hot encoder knows (``""``: missing)."""
    for name, encoder, columns in prep.transformers_:
        if name == "category":
            pairs = zip(columns, encoder.categories_, strict=True)
            return {str(c): [str(v) for v in cats] for c, cats in pairs}
    return {}
