"""The one builder of the governance tables: contract (schemas/governance/<table>.yaml) → Spark schema with
the Chinese labels as column comments → Delta table (through `jobs.tables.ensure`)."""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructType,
    TimestampType,
)

from jobs import tables
from schemas.datasets import GOVERNANCE
from schemas.governance import GovernanceTable, GovernanceType, governance_contract

SCHEMA = GOVERNANCE
SPARK_TYPES: dict[GovernanceType, DataType] = {
    "string": StringType(),
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "boolean": BooleanType(),
    "date": DateType(),
    "timestamp": TimestampType(),
    "array<string>": ArrayType(StringType()),
}


def contract_struct(contract: GovernanceTable) -> StructType:
    return StructType(
        [tables.field(c.name, SPARK_TYPES[c.type], c.label, c.nullable) for c in contract.columns]
    )


def struct(name: str) -> StructType:
    """The Spark schema of governance.<name>, column comments in the fields' metadata."""
    return contract_struct(governance_contract(name))


def names(name: str) -> list[str]:
    return governance_contract(name).names


def ensure(spark: SparkSession, name: str) -> DeltaTable:
    """Create governance.<name> from its contract if it does not exist; open it either way."""
    contract = governance_contract(name)
    return tables.ensure(
        spark,
        SCHEMA,
        contract.table,
        contract_struct(contract),
        contract.title,
        partition_by=tuple(contract.partition_by),
    )
