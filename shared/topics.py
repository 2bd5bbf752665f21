"""Kafka topic names. Each topic is keyed so that one entity stays ordered."""

# Key: post id. Events: post.created.
POSTS = "vitrine.posts"
# Key: post id. Events: engagement.like, engagement.unlike, engagement.view.
ENGAGEMENT = "vitrine.engagement"
# Key: post id. Events: post.stats.
POST_STATS = "vitrine.post-stats"
# Key: order id. Events: order.placed.
ORDERS = "vitrine.orders"
# Key: the original message's key. Value: the original bytes.
DEAD_LETTER = "vitrine.dead-letter"

ALL = (POSTS, ENGAGEMENT, POST_STATS, ORDERS, DEAD_LETTER)
