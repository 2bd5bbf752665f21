from services.engagement.app import build_app
from shared.server import serve

serve("engagement", build_app, default_port=8103)
