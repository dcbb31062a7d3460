"""Output formats of a take: BVH, glTF binary (.glb), FBX through Blender, and the live VMC (OSC) stream.

Entry points (``mocap.app.convert`` wraps the file formats for ``mocap-convert`` and the live app):

* ``mocap.app.convert.export_take(take, fmt, path, *, model=None, fps=None, units="m",
  include_face=True, progress=False) -> Path`` with fmt in {"bvh", "glb", "fbx"};
* ``mocap.app.formats.vmc.VmcSender(host="127.0.0.1", port=39539, *, betas=None, model=None,
  frame="world")`` with ``send(frame_index, poses_row (165,), trans (3,))`` and ``close()``.

Conventions (target names, axes) live in ``skeleton.py``; docs/outputs.md explains them to users.
"""
