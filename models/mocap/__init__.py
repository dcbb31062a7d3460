"""Motion capture: readers (BVH, ASF/AMC, CMU exp-map CSV), resampling, retargeting to SMPL-X."""
