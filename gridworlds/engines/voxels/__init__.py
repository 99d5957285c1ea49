"""The voxel-robot world: an EvoGym-style 2-D soft-body simulator (Bhatia et al. 2021), batched over
many worlds.

A world is a set of pieces: one robot, terrain and free objects (boxes to carry or push), each a grid
of voxels (materials in `voxels.bodies`: rigid, soft, horizontal and vertical actuators, fixed). A
voxel is a square of side `VOXEL` (0.1; EvoGym's unit, which its tasks call metres) with a point mass
of 1 at each corner; 4-adjacent voxels of one piece share corners and edges. Each voxel has its 4 edge
springs and 2 diagonal springs. Coordinates: x to the right, y up, the ground plane at y = 0; a
piece placed at world cell (x, y) has its grid's bottom-left voxel on [0.1 x, 0.1 x + 0.1] x
[0.1 y, 0.1 y + 0.1], its points computed as EvoGym computes them (across from the piece's left
edge, down from its top edge), so they may lie an ulp off these values, as they do in EvoGym.

The physics follows EvoGym's C++ simulator step for step (constants and order from its source):
a control step is `SUBSTEPS` substeps of `DT`, each of which
1. computes contact forces between surface voxels whose bounding boxes overlap or touch, of
   different pieces or of one robot or free object, neighbours included (a corner inside another
   surface voxel, and not one of its corners, is pushed out through the nearest crossed surface edge
   with a penalty force, damped, with viscous friction along the edge), held for the substep;
2. relaxes every spring's rest length: it becomes the current length plus `RELAXATION` of the way to
   its goal length (an actuated edge's goal is its initial length times the mean action of the
   actuators driving it; a horizontal actuator drives its top and bottom edges, a vertical one its
   left and right edges), so springs act as stiff dampers with a weak pull towards their goal;
3. integrates springs, drag, gravity, the contact forces and the ground plane (y < 0 pushes back)
   with one RK4 step; fixed points never move (those holding springs to moving points move in the
   RK4 stages, as in EvoGym, but not at the end of the step);
4. pulls every spring longer than 1.25 or shorter than 0.75 of its initial length 80% of the way back
   to that bound, then every edge of a rigid voxel outside [0.97, 1.03] half way back;
5. measures the velocity the contact forces use, (position - last position) / DT;
6. checks the robot for instability: more overlapping pairs of non-neighbouring surface voxels than
   it has surface voxels. An unstable step is undone and reported.

Departures from EvoGym, all on purpose, none of them measurable in issue 29's fidelity study
(`docs/voxels.md` gives the measurements): pieces that are terrain have no contact within
themselves (only a soft bridge deck could have any); springs between two fixed points are left out
(in EvoGym they pull only on fixed points, in RK4 stages that never reach a moving point); an
unstable step is undone (EvoGym keeps it); a corner exactly on the diagonal line of a voxel but
outside it is not inside (EvoGym's inside test counts the whole line); interior edges are oriented
like surface ones in the test of which edges a corner's edges cross (only exact ends can tell).
RK4 it must be: the explicit midpoint method passes the soft-body checks at half the cost, but a
rigid block's springs (omega dt about 2.1) are beyond its stability limit of 2.

Arrays are padded over a leading world axis (`Worlds`), so worlds of different robots step together
in one call.

The package's modules, by concern: `world` (the voxel, the kinds of piece, `Piece`, `Worlds`),
`building` (pieces into a world's arrays, padded batches, `reset`), `physics` (the control step:
springs, actuation, RK4, the stretch limits), `contacts` (contact forces and the instability test),
`measures` (what tasks read: centres, velocities, orientation, terrain around a piece), then
`bodies` (materials and robot bodies), `rewards` (the tasks' rewards and episode ends) and `tasks`
(EvoGym's tasks). Every public name of the first five is importable from the package itself.
"""

from gridworlds.engines.voxels.building import DIAGONAL_CONSTANT, EDGE_CONSTANT, build, layout, reset, stack
from gridworlds.engines.voxels.contacts import (
    CONTACT_DAMPING,
    CONTACT_FRICTION,
    CONTACT_OFFSET,
    CONTACT_STIFFNESS,
    CORNER_SIDES,
    FRICTION_SCALE,
    SIDE_CORNERS,
)
from gridworlds.engines.voxels.measures import (
    centre,
    centre_velocity,
    orientation,
    piece_points,
    piece_points_each,
    relative_positions,
    terrain_heights,
)
from gridworlds.engines.voxels.physics import (
    ACTION_HIGH,
    ACTION_LOW,
    DRAG,
    DT,
    GRAVITY,
    GROUND_FRICTION,
    GROUND_SMOOTHING,
    GROUND_STIFFNESS,
    PARALLEL_WORLDS,
    RELAXATION,
    RIGID_BOUNDS,
    RIGID_PULL,
    STRETCH_BOUNDS,
    STRETCH_PULL,
    SUBSTEPS,
    UNSTABLE_PENALTY,
    step,
)
from gridworlds.engines.voxels.world import (
    BL,
    BOTTOM,
    BR,
    COUNT_ACTIVE,
    COUNT_ACTUATORS,
    COUNT_MOVING,
    COUNT_POINTS,
    COUNT_SPRINGS,
    COUNT_VOXELS,
    LEFT,
    OBJECT,
    RIGHT,
    ROBOT,
    TERRAIN,
    TL,
    TOP,
    TR,
    VOXEL,
    Piece,
    Worlds,
)

__all__ = [
    "DIAGONAL_CONSTANT",
    "EDGE_CONSTANT",
    "build",
    "layout",
    "reset",
    "stack",
    "CONTACT_DAMPING",
    "CONTACT_FRICTION",
    "CONTACT_OFFSET",
    "CONTACT_STIFFNESS",
    "CORNER_SIDES",
    "FRICTION_SCALE",
    "SIDE_CORNERS",
    "centre",
    "centre_velocity",
    "orientation",
    "piece_points",
    "piece_points_each",
    "relative_positions",
    "terrain_heights",
    "ACTION_HIGH",
    "ACTION_LOW",
    "DRAG",
    "DT",
    "GRAVITY",
    "GROUND_FRICTION",
    "GROUND_SMOOTHING",
    "GROUND_STIFFNESS",
    "PARALLEL_WORLDS",
    "RELAXATION",
    "RIGID_BOUNDS",
    "RIGID_PULL",
    "STRETCH_BOUNDS",
    "STRETCH_PULL",
    "SUBSTEPS",
    "UNSTABLE_PENALTY",
    "step",
    "BL",
    "BOTTOM",
    "BR",
    "COUNT_ACTIVE",
    "COUNT_ACTUATORS",
    "COUNT_MOVING",
    "COUNT_POINTS",
    "COUNT_SPRINGS",
    "COUNT_VOXELS",
    "LEFT",
    "OBJECT",
    "RIGHT",
    "ROBOT",
    "TERRAIN",
    "TL",
    "TOP",
    "TR",
    "VOXEL",
    "Piece",
    "Worlds",
]
