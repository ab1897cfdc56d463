"""ROS 2 launch file of the sensorium node: `ros2 launch launch/sensorium.launch.py [arg:=value ...]`.

The node is `sensorium node --ros2` (pure Rust DDS: nothing of it needs a sourced ROS 2; this file needs
`ros2 launch`). The binary: $SENSORIUM_BIN, else this checkout's target/release/sensorium, else
target/debug/sensorium, else `sensorium` on PATH. Parameters come from params_ros2.yaml beside this file
(`params:=FILE` for another); topics are remapped with the *_topic arguments, as in sensorium.launch (ROS 1).
The DDS domain is $ROS_DOMAIN_ID. Receivers of multi-MB messages (painted clouds): see
fastdds_large_messages.xml.
"""

import os
import shutil

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.substitutions import LaunchConfiguration

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

TOPICS = {
    "camera_topic": "/camera/image_raw",
    "camera_compressed_topic": "/camera/image_raw/compressed",
    "camera_info_topic": "/camera/camera_info",
    "lidar_topic": "/lidar/points",
    "map_text_topic": "/map/text",
}


def sensorium_binary():
    if os.environ.get("SENSORIUM_BIN"):
        return os.environ["SENSORIUM_BIN"]
    for b in ("target/release/sensorium", "target/debug/sensorium"):
        p = os.path.join(REPO, b)
        if os.access(p, os.X_OK):
            return p
    return shutil.which("sensorium") or "sensorium"


def node_command(get):
    """The command line for the launch arguments (`get(name)` gives an argument's value)."""
    cmd = [sensorium_binary(), "node", "--ros2"]
    if get("config"):
        cmd += ["--config", get("config")]
    if get("models"):
        cmd += ["--models", get("models")]
    if get("calib"):
        cmd += ["--calib", get("calib")]
    cmd += ["--ros-args", "-r", f"__node:={get('node_name')}"]
    if get("namespace"):
        cmd += ["-r", f"__ns:={get('namespace')}"]
    for arg, default in TOPICS.items():
        if get(arg) and get(arg) != default:
            cmd += ["-r", f"{default}:={get(arg)}"]
    if get("params"):
        cmd += ["--params-file", get("params")]
    return cmd


def launch_node(context):
    def get(name):
        return LaunchConfiguration(name).perform(context)

    return [ExecuteProcess(cmd=node_command(get), name=get("node_name"), output="screen",
                           respawn=get("respawn").lower() == "true", respawn_delay=1.0)]


def generate_launch_description():
    args = [
        DeclareLaunchArgument("node_name", default_value="sensorium"),
        DeclareLaunchArgument("namespace", default_value=""),
        DeclareLaunchArgument("params", default_value=os.path.join(HERE, "params_ros2.yaml")),
        DeclareLaunchArgument("config", default_value="", description="sensorium configuration file"),
        DeclareLaunchArgument("models", default_value=""),
        DeclareLaunchArgument("calib", default_value="", description="calibration folder (else /tf_static + camera_info)"),
        DeclareLaunchArgument("respawn", default_value="true"),
    ] + [DeclareLaunchArgument(a, default_value=d) for a, d in TOPICS.items()]
    return LaunchDescription(args + [OpaqueFunction(function=launch_node)])
