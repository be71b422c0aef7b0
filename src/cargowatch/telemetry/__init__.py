"""Smart-container telemetry: device messages from files and live over MQTT."""
