"""Run INSIDE Blender by test_formats_blender.py: import a .bvh, .glb or .fbx, print bone head world positions.

argv after "--": file, fps, comma-separated frame indices (0 = the file's first frame). Prints one
JSON line prefixed "PROBE " with {bone name: [[x, y, z] per frame]} in Blender's z-up world.
"""
import json
import sys

import bpy

try:   # Blender 3.4's glTF importer (Debian 12) uses np.bool, removed in numpy >= 1.24
    import numpy

    if "bool" not in numpy.__dict__:
        numpy.bool = bool
except ImportError:
    pass
import builtins

import io_anim_bvh.import_bvh as _bvh_import

# Blender 3.4's BVH importer opens files with mode 'rU', which Python 3.11 (Debian 12's Blender) rejects.
_bvh_import.open = lambda file, mode="r", *a, **k: builtins.open(file, mode.replace("U", ""), *a, **k)

path, fps, frames = sys.argv[sys.argv.index("--") + 1:][:3]
frames = [int(f) for f in frames.split(",")]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = round(float(fps))
if path.endswith(".bvh"):
    bpy.ops.import_anim.bvh(filepath=path, global_scale=1.0, frame_start=1, use_fps_scale=False,
                            update_scene_fps=False, update_scene_duration=True, rotate_mode="NATIVE",
                            axis_forward="-Z", axis_up="Y")
elif path.endswith(".fbx"):
    bpy.ops.import_scene.fbx(filepath=path)
else:
    bpy.ops.import_scene.gltf(filepath=path)
arm = next(o for o in scene.objects if o.type == "ARMATURE")
start = min(a.frame_range[0] for a in bpy.data.actions)
out = {b.name: [] for b in arm.pose.bones}
for f in frames:
    scene.frame_set(int(round(start)) + f)
    for b in arm.pose.bones:
        out[b.name].append(list(arm.matrix_world @ b.head))
meshes = [o for o in scene.objects if o.type == "MESH"]
skin = {"meshes": len(meshes), "vertex_groups": max((len(o.vertex_groups) for o in meshes), default=0),
        "armature_modifiers": sum(m.type == "ARMATURE" for o in meshes for m in o.modifiers),
        "vertices": max((len(o.data.vertices) for o in meshes), default=0)}
print("PROBE " + json.dumps({"start": start, "bones": out, "skin": skin}))
