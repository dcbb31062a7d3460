"""The per-module latency budget the benchmark reports against.

Source: seed 000, Table 1 (laptop RTX 4060, TensorRT), as restated in DESIGN section 3. Each
row names the module of our pipeline that plays that role (None: not built yet).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BudgetRow:
    module: str          # the seed's name
    seed_input: str      # the seed's input size
    budget_ms: float     # on the seed's GPU
    ours: str | None     # our timing key in timings.json
    our_input: str       # our net's input


BUDGET = (
    BudgetRow("body crop net", "224x224x3", 2.0, "pose_detector", "224x224x3 (pose_detection)"),
    BudgetRow("body landmark net", "384x288x3", 5.0, "pose_landmark", "256x256x3 (pose_landmark_full)"),
    BudgetRow("hand crop net", "2x256x256x3", 1.5, "hand_recrop", "2x256x256x3 (hand_recrop)"),
    BudgetRow("hand landmark net", "256x256x3", 2.0, "hand_landmark", "2x224x224x3 (hand_landmark_full)"),
    BudgetRow("pose initialisation net", "81x67x2", 3.0, "pose_init", "81x67x2 + mask + 81x3 (pose_init)"),
    BudgetRow("neural descent net", "-", 10.0, "descent", "1 frame, 4 steps (descent)"),
)
