# Runs a Lambda rotation function under coffer: the event arrives on stdin.
import json, logging, sys
from rotate_fn import lambda_handler
logging.basicConfig(level=logging.INFO); lambda_handler(json.load(sys.stdin), None)
