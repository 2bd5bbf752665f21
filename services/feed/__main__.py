from services.feed.app import build_app
from shared.server import serve

serve("feed", build_app, default_port=8102)
