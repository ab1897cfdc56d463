crate::rosmsg_include!(rosgraph_msgs / Clock, rosgraph_msgs / Log, INTERNAL);
