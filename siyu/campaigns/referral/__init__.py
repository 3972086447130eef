"""Referral commission (分销): promoters, share codes, binding, commissions, withdrawals."""
