from services.commerce.app import build_app
from shared.server import serve

serve("commerce", build_app, default_port=8104)
