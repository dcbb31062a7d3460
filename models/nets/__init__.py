"""The networks: partial convolutions, the pose-initialisation and neural descent nets (issue 4)."""
