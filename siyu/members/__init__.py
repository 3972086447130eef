"""Members: tiers and growth value, the points ledger, benefits and the points mall.

Modules are imported by what they do (``from siyu.members import points``); this
package imports nothing so that the pricing pipeline, the event handlers and the
routers can each pull in only what they need without import cycles.
"""
