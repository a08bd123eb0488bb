"""Services that combine packages: planning (store + forecast + dispatch + grid check), the AC
network check of a dispatch plan, and the annual what-if.

Used by the API and the entry points; imports the core and the three domain packages.
"""
