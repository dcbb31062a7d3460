"""Motion capture: readers (BVH, ASF/AMC, CMU exp-map CSV), resampling, mirroring, retargeting to SMPL-X."""

from .motion import (
    Motion,
    forward_kinematics,
    left_right_mirror,
    mirror_pairs,
    resample,
    rest_positions,
    to_world_frame,
)
from .readers import CMU_UNIT_M, known_true_fps, read_asf_amc, read_bvh, read_expmap_csv
from .split import split_train_val

__all__ = [
    "CMU_UNIT_M", "Motion", "forward_kinematics", "known_true_fps", "left_right_mirror", "mirror_pairs",
    "read_asf_amc", "read_bvh", "read_expmap_csv", "resample", "rest_positions", "split_train_val",
    "to_world_frame",
]
