"""The plugin's RecBole models (class name = file name = ``properties/model/<Name>.yaml``)."""

from __future__ import annotations

from recbole_spec.models.base import SpecRecommender
from recbole_spec.models.bprmf import BPRMF
from recbole_spec.models.cluniformity import CLUniformity
from recbole_spec.models.directspec import DirectSpec
from recbole_spec.models.directspecplus import DirectSpecPlus
from recbole_spec.models.lightgcn import LightGCN

MODELS: tuple[type[SpecRecommender], ...] = (
    BPRMF,
    LightGCN,
    DirectSpec,
    DirectSpecPlus,
    CLUniformity,
)

__all__ = [
    "BPRMF",
    "MODELS",
    "CLUniformity",
    "DirectSpec",
    "DirectSpecPlus",
    "LightGCN",
    "SpecRecommender",
]
