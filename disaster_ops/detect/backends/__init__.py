"""Built-in detector backends; importing this package registers them."""

from disaster_ops.detect.backends import hazardnet, person_yolo, ultralytics_yolo  # noqa: F401
