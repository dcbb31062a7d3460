"""Run INSIDE Blender (``blender -b --python blender_fbx.py -- in.glb out.fbx FPS``): glTF in, FBX out.

Not imported by the mocap package; ``fbx.py`` starts it. Uses Blender's bundled glTF importer and FBX
exporter (https://docs.blender.org/manual/en/latest/addons/import_export/scene_gltf2.html ,
.../scene_fbx.html). The FBX is y up, -Z forward (the exporter's defaults; Unity, Unreal and Maya read
it that way), metres as Blender units (scale 1), animation baked at the take's frame rate.
"""
import sys

import bpy

try:   # Blender 3.4's glTF importer (Debian 12's package) uses np.bool, which numpy >= 1.24 removed.
    import numpy

    if "bool" not in numpy.__dict__:
        numpy.bool = bool
except ImportError:
    pass   # the importer then says numpy is missing (Debian: apt-get install python3-numpy)

src, dst, fps = sys.argv[sys.argv.index("--") + 1:][:3]
fps = float(fps)
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = max(1, round(fps))
scene.render.fps_base = scene.render.fps / fps
bpy.ops.import_scene.gltf(filepath=src)
ranges = [a.frame_range for a in bpy.data.actions]
if ranges:
    scene.frame_start = int(min(r[0] for r in ranges))
    scene.frame_end = int(max(r[1] for r in ranges))
# The exporter bakes every frame with scene.frame_set, which re-skins the whole mesh each time (about
# 90 % of the export time on a 60 s take). The bones' keys do not need the deformed mesh, and the skin
# (vertex groups + armature) is exported from the mesh's data either way, so skip the deform while baking.
for ob in scene.objects:
    for mod in getattr(ob, "modifiers", []):
        if mod.type == "ARMATURE":
            mod.show_viewport = False
bpy.ops.export_scene.fbx(filepath=dst, object_types={"ARMATURE", "MESH"}, add_leaf_bones=False,
                         bake_anim=True, bake_anim_use_all_actions=False, bake_anim_use_nla_strips=False,
                         bake_anim_simplify_factor=0.0, axis_forward="-Z", axis_up="Y")
print("mocap-fbx-ok", dst)
