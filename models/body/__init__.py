"""The SMPL-X body model: our loader and batched forward pass (shape, joints, pose blend, skinning) in torch."""
