"""Flash sale (秒杀): sessions, campaign stock on two engines, reservations → orders."""
