"""Staff back-office on Flask-Admin (Bootstrap 4 theme, French).

Built by the back-office capability: agents, queues and actions calling the workflows.
Nothing is registered yet, so no staff URL exists before access control does.
"""
